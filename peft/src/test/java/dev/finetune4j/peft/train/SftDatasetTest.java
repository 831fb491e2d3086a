package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Records to token ids and labels on the byte-level tokenizer (id = UTF-8 byte, EOS 257), masks checked by hand. */
class SftDatasetTest {
    private static final Tokenizer TOK = new ByteLevelTokenizer(ChatTemplate.SIMPLE);
    private static final long EOS = ByteLevelTokenizer.EOS;

    @Test
    void promptCompletionMasksThePromptAndCutsOnlyWhenAsked() {
        TokenizedExample e = SftDataset.promptCompletion(new long[]{1, 2}, new long[]{3, 4}, 0);
        assertArrayEquals(new long[]{1, 2, 3, 4}, e.inputIds());
        assertArrayEquals(new long[]{-100, -100, 3, 4}, e.labels());
        TokenizedExample cut = SftDataset.promptCompletion(new long[]{1, 2}, new long[]{3, 4}, 3);
        assertArrayEquals(new long[]{-100, -100, 3}, cut.labels());
        assertThrows(IllegalArgumentException.class, () -> SftDataset.promptCompletion(new long[0], new long[0], 0));
    }

    @Test
    void alpacaTrainsOnTheAnswerAndEosOnly() {
        TokenizedExample e = one(Map.of("instruction", "Hi", "input", "", "output", "Yo"), SftFormat.defaults());
        // "User: Hi\n" (9 bytes) + "Assistant: " (11) untrained, then "Yo\n" + EOS trained
        assertArrayEquals(concat(bytes("User: Hi\nAssistant: Yo\n"), EOS), e.inputIds());
        assertArrayEquals(concat(masked(20), bytes("Yo\n"), EOS), e.labels());
        TokenizedExample withInput = one(Map.of("instruction", "Add", "input", "1 2", "output", "3"), SftFormat.defaults());
        assertArrayEquals(concat(bytes("User: Add\n\n1 2\nAssistant: 3\n"), EOS), withInput.inputIds());
        assertEquals(3, withInput.lossTokens(), "'3', newline, EOS");
    }

    @Test
    void namedTemplateAndFullLoss() {
        TokenizedExample e = one(Map.of("instruction", "Hi", "output", "Yo"),
                SftFormat.defaults().withTemplate("alpaca").withAppendEos(false));
        String prompt = "### Instruction:\nHi\n\n### Response:\n";
        assertArrayEquals(bytes(prompt + "Yo\n\n"), e.inputIds());
        assertArrayEquals(concat(masked(prompt.length()), bytes("Yo\n\n")), e.labels());
        TokenizedExample full = one(Map.of("instruction", "Hi", "output", "Yo"), SftFormat.defaults().withCompletionOnly(false));
        assertArrayEquals(full.inputIds(), full.labels(), "completion-only off: every token is a label");
    }

    @Test
    void shareGptAndOpenAiMultiTurnMaskEveryPromptPart() {
        Map<String, Object> shareGpt = Map.of("conversations", List.of(
                Map.of("from", "system", "value", "S"), Map.of("from", "human", "value", "A"),
                Map.of("from", "gpt", "value", "B"), Map.of("from", "human", "value", "C"), Map.of("from", "gpt", "value", "D")));
        Map<String, Object> openAi = Map.of("messages", List.of(
                Map.of("role", "system", "content", "S"), Map.of("role", "user", "content", "A"),
                Map.of("role", "assistant", "content", "B"), Map.of("role", "user", "content", "C"),
                Map.of("role", "assistant", "content", "D")));
        TokenizedExample e = one(shareGpt, SftFormat.defaults());
        // "System: S\n" (10) "User: A\n" (8) "Assistant: " (11) | "B\n" | "User: C\n" (8) "Assistant: " (11) | "D\n" EOS
        assertArrayEquals(concat(bytes("System: S\nUser: A\nAssistant: B\nUser: C\nAssistant: D\n"), EOS), e.inputIds());
        assertArrayEquals(concat(masked(29), bytes("B\n"), masked(19), bytes("D\n"), EOS), e.labels());
        TokenizedExample same = one(openAi, SftFormat.defaults());
        assertArrayEquals(e.inputIds(), same.inputIds());
        assertArrayEquals(e.labels(), same.labels());
    }

    @Test
    void plainTextTrainsOnEveryToken() {
        TokenizedExample e = one(Map.of("text", "abc"), SftFormat.defaults());
        assertArrayEquals(concat(bytes("abc"), EOS), e.inputIds());
        assertArrayEquals(e.inputIds(), e.labels());
    }

    @Test
    void truncationPaddingAndPacking() {
        List<Map<String, Object>> records = List.of(Map.of("text", "abcdef"), Map.of("text", "xy"), Map.of("text", "q"));
        TokenizedDataset cut = SftDataset.fromRecords(records, TOK, SftFormat.defaults().withMaxLength(4));
        assertArrayEquals(bytes("abcd"), cut.get(0).inputIds());
        Batch batch = Batch.collate(cut.examples(), ByteLevelTokenizer.PAD);
        assertArrayEquals(new long[]{'x', 'y', EOS, ByteLevelTokenizer.PAD}, batch.inputIds()[1]);
        assertArrayEquals(new long[]{1, 1, 1, 0}, batch.attentionMask()[1], "padding is masked");
        TokenizedDataset packed = SftDataset.fromRecords(records, TOK, SftFormat.defaults().withMaxLength(6).withPacking(true));
        assertEquals(2, packed.size());
        assertArrayEquals(concat(bytes("xy"), EOS, bytes("q"), EOS), packed.get(1).inputIds());
        assertArrayEquals(new int[]{0, 0, 0, 1, 1}, packed.get(1).segments(), "attention stays within each example");
        assertArrayEquals(new long[]{-100, 'y', EOS, -100, EOS}, packed.get(1).labels());
    }

    @Test
    void errorsNameTheRecordAndTheFix() {
        assertMessage(Map.of("prompt", "x"), "record 1 has the fields [prompt]");
        assertMessage(Map.of("conversations", List.of(Map.of("from", "tool", "value", "x"))), "role 'tool'");
        assertMessage(Map.of("messages", List.of(Map.of("role", "user", "content", "x"))), "no assistant turn");
        assertMessage(Map.of("instruction", "x"), "'output'");
        assertThrows(IllegalArgumentException.class, () -> SftFormat.defaults().withPacking(true));
    }

    private static void assertMessage(Map<String, Object> bad, String expected) {
        List<Map<String, Object>> records = new ArrayList<>(List.of(Map.of("text", "ok")));
        records.add(bad);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftDataset.fromRecords(records, TOK, SftFormat.defaults()));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static TokenizedExample one(Map<String, Object> record, SftFormat format) {
        return SftDataset.fromRecords(List.of(record), TOK, format).get(0);
    }

    private static long[] bytes(String s) {
        return TOK.encode(s);
    }

    private static long[] masked(int n) {
        long[] out = new long[n];
        Arrays.fill(out, -100);
        return out;
    }

    /** Joins long arrays and single ids. */
    private static long[] concat(Object... parts) {
        List<Long> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof long[] a) {
                Arrays.stream(a).forEach(out::add);
            } else {
                out.add(((Number) p).longValue());
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }
}
