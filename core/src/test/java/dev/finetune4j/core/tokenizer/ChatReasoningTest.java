package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Assistant turns' reasoning traces: read from each key datasets use, written back, refused where they do not fit,
 * and shown to templates under the keys templates read (the real templates' renders are in
 * {@link JinjaChatTemplateGoldenTest}).
 */
class ChatReasoningTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ChatMessage read(String message) throws Exception {
        return ChatJson.message(JSON.readTree(message), "messages[1]");
    }

    @Test
    void readsTheTraceFromEachKeyDatasetsUse() throws Exception {
        ChatMessage expected = ChatMessage.assistant("4").withReasoning("2 + 2");
        for (String key : List.of("thinking", "reasoning_content", "reasoning")) {
            assertEquals(expected, read("{\"role\": \"assistant\", \"content\": \"4\", \"" + key + "\": \"2 + 2\"}"), key);
        }
        assertEquals(expected, read("{\"role\": \"assistant\", \"content\": \"4\", \"thinking\": \"2 + 2\", "
                + "\"reasoning_content\": \"2 + 2\"}"), "the same trace under two keys is one trace");
        assertEquals(ChatMessage.assistant("4"), read("{\"role\": \"assistant\", \"content\": \"4\", "
                + "\"reasoning_content\": null}"), "null is no trace (DeepSeek's API writes it on plain answers)");
        assertEquals(ChatMessage.user("hi"), read("{\"role\": \"user\", \"content\": \"hi\", \"reasoning\": null}"));
        assertEquals("", read("{\"role\": \"assistant\", \"content\": \"4\", \"thinking\": \"\"}").reasoning(),
                "an empty trace is kept: templates test whether the key is there");
    }

    @Test
    void writesTheTraceAsReasoningContentAndReadsItBack() throws Exception {
        ChatMessage call = ChatMessage.assistant(List.of(new ToolCall("c1", "f", "{}"))).withReasoning("Call f.");
        JsonNode written = ChatJson.toJson(call);
        assertEquals("Call f.", written.get("reasoning_content").textValue());
        List<String> keys = new ArrayList<>();
        written.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("role", "content", "tool_calls", "reasoning_content"), keys);
        assertEquals(call, ChatJson.message(written, "m"));
        assertFalse(ChatJson.toJson(ChatMessage.assistant("4")).has("reasoning_content"), "no trace, no key");
    }

    @Test
    void refusesTracesThatConflictOrSitOnTheWrongTurn() {
        assertMessage("messages[1] has two different reasoning traces, in reasoning_content and thinking; keep one",
                () -> read("{\"role\": \"assistant\", \"content\": \"4\", \"thinking\": \"a\", \"reasoning_content\": \"b\"}"));
        assertMessage("messages[1].reasoning is a reasoning trace on a user message; only assistant messages carry one",
                () -> read("{\"role\": \"user\", \"content\": \"hi\", \"reasoning\": \"why\"}"));
        assertMessage("messages[1].thinking must be a string, got number 3",
                () -> read("{\"role\": \"assistant\", \"content\": \"4\", \"thinking\": 3}"));
        assertMessage("a tool turn cannot carry a reasoning trace; only assistant turns do",
                () -> ChatMessage.tool("c1", "18 C").withReasoning("hm"));
        assertMessage("a system turn cannot carry a reasoning trace",
                () -> new ChatMessage("system", "S", List.of(), null, "hm"));
    }

    @Test
    void templatesSeeTheTraceUnderEachKeyOnlyWhereATurnHasOne() {
        JinjaChatTemplate t = JinjaChatTemplate.parse("keys", "{% for m in messages %}[{{ m.thinking is defined }}"
                + "{{ m.reasoning_content is defined }}{{ 'thinking' in m }}{{ 'tool_plan' in m }}:{{ m.thinking }}|"
                + "{{ m.reasoning_content }}|{{ m.tool_plan }}]{% endfor %}", Map.of());
        assertEquals("[FalseFalseFalseFalse:||][TrueTrueTrueTrue:2 + 2|2 + 2|2 + 2][FalseFalseFalseFalse:||]",
                t.render(List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4").withReasoning("2 + 2"),
                        ChatMessage.assistant("5")), false));
    }

    @Test
    void builtInFormatsRefuseATraceInsteadOfDroppingIt() {
        List<ChatMessage> reasoned = List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4").withReasoning("2 + 2"));
        for (BuiltinChatTemplate format : BuiltinChatTemplate.values()) {
            assertMessage("the built-in chat format " + format.name().toLowerCase(Locale.ROOT)
                    + " has no place for a reasoning trace, and turn 1 carries one; use the reasoning model's own chat "
                    + "template", () -> format.render(reasoned, false));
        }
        assertEquals(ChatTemplate.CHATML.render(List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4")), false),
                ChatTemplate.CHATML.render(List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4").withReasoning("")),
                        false), "an empty trace loses nothing");
    }

    private static void assertMessage(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
