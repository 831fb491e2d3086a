package dev.finetune4j.data.record;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConversionsTest {
    private final Record alpaca = Record.of(new SourceRef("a.jsonl", 1),
            Map.of("instruction", "翻译成英文", "input", "你好", "output", "Hello"));

    @Test
    void alpacaToOpenAiToShareGptAndBack() {
        Record openai = Conversions.convert(alpaca, Schema.OPENAI);
        assertEquals(List.of(Map.of("role", "user", "content", "翻译成英文\n\n你好"),
                Map.of("role", "assistant", "content", "Hello")), openai.fields().get("messages"));
        Record sharegpt = Conversions.convert(openai, Schema.SHAREGPT);
        assertEquals(List.of(Map.of("from", "human", "value", "翻译成英文\n\n你好"),
                Map.of("from", "gpt", "value", "Hello")), sharegpt.fields().get("conversations"));
        Record back = Conversions.convert(sharegpt, Schema.ALPACA);
        assertEquals(Map.of("instruction", "翻译成英文\n\n你好", "input", "", "output", "Hello"), back.fields());
        assertEquals("a.jsonl:1", back.id());
        assertEquals("翻译成英文\n\n你好\nHello", Conversions.convert(alpaca, Schema.TEXT).string("text"));
    }

    @Test
    void inventingPreferencesIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Conversions.convert(alpaca, Schema.PREFERENCE));
    }

    @Test
    void textsSkipRoles() {
        Record r = Conversions.convert(alpaca, Schema.OPENAI);
        assertEquals(List.of("翻译成英文\n\n你好", "Hello"), r.texts());
        assertEquals("user", ((Map<?, ?>) ((List<?>) r.mapTexts(String::toUpperCase).fields().get("messages")).get(0))
                .get("role"));
    }

    @Test
    void alpacaTurnsJoinInputByABlankLineAndPutTheSystemFirst() {
        assertEquals(List.of(new Conversions.Turn("user", "Hi"), new Conversions.Turn("assistant", "Yo")),
                Conversions.toTurns(Map.of("instruction", "Hi", "input", " ", "output", "Yo")));
        assertEquals(List.of(new Conversions.Turn("system", "Be brief."), new Conversions.Turn("user", "Add\n\n1 2"),
                        new Conversions.Turn("assistant", "3")),
                Conversions.toTurns(Map.of("system", "Be brief.", "instruction", "Add", "input", "1 2", "output", "3")));
        Record withSystem = Record.of(new SourceRef("a.jsonl", 2),
                Map.of("system", "Be brief.", "instruction", "Hi", "output", "Yo"));
        Record roundTrip = Conversions.convert(Conversions.convert(withSystem, Schema.OPENAI), Schema.ALPACA);
        assertEquals(Map.of("system", "Be brief.", "instruction", "Hi", "input", "", "output", "Yo"), roundTrip.fields());
    }

    /** LLaMA-Factory's sharegpt rows may carry the system prompt as a column; it was dropped, and is a turn now. */
    @Test
    void aShareGptSystemColumnIsTheSystemTurnUnlessTheConversationOpensWithItsOwn() {
        List<Map<String, String>> conversation = List.of(Map.of("from", "human", "value", "Hi"),
                Map.of("from", "gpt", "value", "Yo"));
        assertEquals(List.of(new Conversions.Turn("system", "Be brief."), new Conversions.Turn("user", "Hi"),
                        new Conversions.Turn("assistant", "Yo")),
                Conversions.toTurns(Map.of("system", "Be brief.", "conversations", conversation)));
        Record toOpenAi = Conversions.convert(Record.of(new SourceRef("s.jsonl", 1),
                Map.of("system", "Be brief.", "conversations", conversation)), Schema.OPENAI);
        assertEquals(Map.of("role", "system", "content", "Be brief."), ((List<?>) toOpenAi.fields().get("messages")).get(0));

        List<Map<String, String>> ownSystem = List.of(Map.of("from", "system", "value", "Be kind."),
                Map.of("from", "human", "value", "Hi"));
        assertEquals(List.of(new Conversions.Turn("system", "Be kind."), new Conversions.Turn("user", "Hi")),
                Conversions.toTurns(Map.of("system", "Be brief.", "conversations", ownSystem)), "as LLaMA-Factory reads it");
        assertEquals(List.of(new Conversions.Turn("user", "Hi"), new Conversions.Turn("assistant", "Yo")),
                Conversions.toTurns(Map.of("system", "", "conversations", conversation)), "an empty column is none");
        assertMessage(Map.of("system", 3, "conversations", conversation), "system");
    }

    @Test
    void everyRoleNameOfShareGptAndOpenAiMapsToTheNeutralRoles() {
        List<Conversions.Turn> expected = List.of(new Conversions.Turn("system", "S"), new Conversions.Turn("user", "A"),
                new Conversions.Turn("assistant", "B"), new Conversions.Turn("user", "C"),
                new Conversions.Turn("assistant", "D"));
        assertEquals(expected, Conversions.toTurns(Map.of("conversations", List.of(
                Map.of("from", "system", "value", "S"), Map.of("from", "human", "value", "A"),
                Map.of("from", "gpt", "value", "B"), Map.of("from", "user", "value", "C"),
                Map.of("from", "chatgpt", "value", "D")))));
        assertEquals(expected, Conversions.toTurns(Map.of("messages", List.of(
                Map.of("role", "developer", "content", "S"), Map.of("role", "User", "content", "A"),
                Map.of("role", "model", "content", "B"), Map.of("role", "user", "content", "C"),
                Map.of("role", "ASSISTANT", "content", "D")))));
        assertEquals(List.of(new Conversions.Turn("assistant", "abc")), Conversions.toTurns(Map.of("text", "abc")));
    }

    @Test
    void errorsNameWhatWasFoundAndTheAcceptedShapes() {
        assertMessage(Map.of("prompt", "x"), "has the fields [prompt], none of the accepted shapes");
        assertMessage(Map.of("conversations", List.of(Map.of("from", "narrator", "value", "x"))),
                "turn 0 has the role 'narrator'; use system/developer, user/human, assistant/gpt/model, function_call "
                        + "or observation/tool");
        assertMessage(Map.of("instruction", "x"), "missing field 'output'");
        assertMessage(Map.of("instruction", "x", "output", "y", "system", 3), "field 'system' must be a string");
        assertMessage(Map.of("messages", "hi"), "field 'messages' must be an array of turns");
    }

    private static void assertMessage(Map<String, Object> bad, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conversions.toTurns(bad));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /**
     * An assistant's reasoning trace is read under any of the keys datasets use, written back as reasoning_content,
     * read and rewritten with the prose (so redaction reaches it), and never dropped by a conversion that has no
     * place for it.
     */
    @Test
    void reasoningTracesAreReadKeptAndNeverDropped() {
        for (String key : List.of("reasoning_content", "thinking", "reasoning")) {
            Record r = Record.of(new SourceRef("t.jsonl", 1), Map.of("messages", List.of(
                    Map.of("role", "user", "content", "2 + 2?"),
                    Map.of("role", "assistant", "content", "4", key, "Two and two make four."))));
            List<Conversions.Turn> turns = Conversions.toTurns(r.fields());
            assertEquals("Two and two make four.", turns.get(1).reasoning(), key);
            assertEquals(null, turns.get(0).reasoning());
            assertTrue(r.texts().contains("Two and two make four."), key + ": read with the prose");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Conversions.convert(r, Schema.SHAREGPT));
            assertTrue(e.getMessage().contains("reasoning traces") && e.getMessage().contains("OPENAI"), e.getMessage());
        }
        Record alpacaAsOpenAi = Conversions.convert(alpaca, Schema.OPENAI);
        assertEquals(null, Conversions.toTurns(alpacaAsOpenAi.fields()).get(1).reasoning());
        Record twoTraces = Record.of(new SourceRef("t.jsonl", 2), Map.of("messages", List.of(
                Map.of("role", "user", "content", "2 + 2?"),
                Map.of("role", "assistant", "content", "4", "thinking", "a", "reasoning_content", "b"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Conversions.toTurns(twoTraces.fields()));
        assertTrue(e.getMessage().contains("turn 1 has two different reasoning traces"), e.getMessage());
        Record userTrace = Record.of(new SourceRef("t.jsonl", 3), Map.of("messages", List.of(
                Map.of("role", "user", "content", "2 + 2?", "thinking", "hm"))));
        e = assertThrows(IllegalArgumentException.class, () -> Conversions.toTurns(userTrace.fields()));
        assertTrue(e.getMessage().contains("turn 0 is a user turn with a reasoning trace"), e.getMessage());
    }
}
