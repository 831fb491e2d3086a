package dev.finetune4j.peft.train;

import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import dev.finetune4j.core.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Examples to token ids and labels on the byte-level tokenizer (id = UTF-8 byte, EOS 257), masks checked by hand. */
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
    void aQuestionAndAnswerTrainsOnTheAnswerAndEosOnly() {
        TokenizedExample e = one(qa("Hi", "Yo"), SftFormat.defaults());
        // "User: Hi\n" (9 bytes) + "Assistant: " (11) untrained, then "Yo\n" + EOS trained
        assertArrayEquals(concat(bytes("User: Hi\nAssistant: Yo\n"), EOS), e.inputIds());
        assertArrayEquals(concat(masked(20), bytes("Yo\n"), EOS), e.labels());
        TokenizedExample withInput = one(qa("Add\n\n1 2", "3"), SftFormat.defaults());
        assertArrayEquals(concat(bytes("User: Add\n\n1 2\nAssistant: 3\n"), EOS), withInput.inputIds());
        assertEquals(3, withInput.lossTokens(), "'3', newline, EOS");
    }

    @Test
    void namedTemplateAndFullLoss() {
        TokenizedExample e = one(qa("Hi", "Yo"),
                SftFormat.defaults().withTemplate("alpaca").withAppendEos(false));
        String prompt = "### Instruction:\nHi\n\n### Response:\n";
        assertArrayEquals(bytes(prompt + "Yo\n\n"), e.inputIds());
        assertArrayEquals(concat(masked(prompt.length()), bytes("Yo\n\n")), e.labels());
        TokenizedExample full = one(qa("Hi", "Yo"), SftFormat.defaults().withCompletionOnly(false));
        assertArrayEquals(full.inputIds(), full.labels(), "completion-only off: every token is a label");
    }

    @Test
    void aModelsOwnTemplateThatAppendsTurnsMasksItsPrompts() throws Exception {
        Tokenizer mistral = new ByteLevelTokenizer(realTemplate("mistral-7b-instruct-v0.1"));
        TokenizedExample e = SftDataset.fromExamples(List.of(qa("Hi", "Yo")), mistral, SftFormat.defaults().withAppendEos(false))
                .examples().getFirst();
        String prompt = "<s>[INST] Hi [/INST]";
        assertArrayEquals(bytes(prompt + "Yo</s> "), e.inputIds());
        assertArrayEquals(concat(masked(prompt.length()), bytes("Yo</s> ")), e.labels());
    }

    @Test
    void aModelsOwnTemplateThatDoesNotAppendTurnsIsRefusedNamingItAndWhatToDo() throws Exception {
        // Phi-3.5's template ends a conversation without a generation prompt with eos_token, so the render of the
        // first turns is not a prefix of the render with one more exchange
        Tokenizer phi = new ByteLevelTokenizer(realTemplate("phi-3.5-mini"));
        SftExample twoExchanges = SftExample.chat(ChatMessage.user("Hi"), ChatMessage.assistant("Yo"),
                ChatMessage.user("Again"), ChatMessage.assistant("Yo"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SftDataset.fromExamples(List.of(twoExchanges), phi, SftFormat.defaults()));
        assertTrue(e.getMessage().contains("phi-3.5-mini") && e.getMessage().contains("SftFormat.withTemplate")
                && e.getMessage().contains("SftExample.text") && e.getMessage().contains("<|endoftext|>"), e.getMessage());
    }

    @Test
    void aConversationTheTemplateRefusesIsNamedWithTheTemplatesMessage() throws Exception {
        Tokenizer mistral = new ByteLevelTokenizer(realTemplate("mistral-7b-instruct-v0.1"));
        SftExample twoUsers = SftExample.chat(ChatMessage.user("a"), ChatMessage.user("b"), ChatMessage.assistant("c"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftDataset.fromExamples(List.of(qa("Hi", "Yo"), twoUsers), mistral, SftFormat.defaults()));
        assertTrue(e.getMessage().startsWith("example 1: the chat template mistral-7b-instruct-v0.1 refused")
                && e.getMessage().contains("Conversation roles must alternate user/assistant/user/assistant/..."), e.getMessage());
    }

    /** A real model's template from core's test fixtures (chat-templates/README.md says where each came from). */
    private static JinjaChatTemplate realTemplate(String name) throws Exception {
        try (InputStream in = SftDatasetTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja")) {
            return JinjaChatTemplate.parse(name, new String(in.readAllBytes(), StandardCharsets.UTF_8),
                    Map.of("bos_token", "<s>", "eos_token", name.startsWith("phi") ? "<|endoftext|>" : "</s>"));
        }
    }

    @Test
    void multiTurnMasksEveryPromptPart() {
        SftExample chat = SftExample.chat(ChatMessage.system("S"), ChatMessage.user("A"), ChatMessage.assistant("B"),
                ChatMessage.user("C"), ChatMessage.assistant("D"));
        TokenizedExample e = one(chat, SftFormat.defaults());
        // "System: S\n" (10) "User: A\n" (8) "Assistant: " (11) | "B\n" | "User: C\n" (8) "Assistant: " (11) | "D\n" EOS
        assertArrayEquals(concat(bytes("System: S\nUser: A\nAssistant: B\nUser: C\nAssistant: D\n"), EOS), e.inputIds());
        assertArrayEquals(concat(masked(29), bytes("B\n"), masked(19), bytes("D\n"), EOS), e.labels());
    }

    @Test
    void plainTextTrainsOnEveryToken() {
        TokenizedExample e = one(SftExample.text("abc"), SftFormat.defaults());
        assertArrayEquals(concat(bytes("abc"), EOS), e.inputIds());
        assertArrayEquals(e.inputIds(), e.labels());
    }

    /** A text row starts as transformers' {@code tokenizer(text)} starts it (TRL's SFT trainer): Llama's BOS first. */
    @Test
    void plainTextGetsTheTokenizersSpecialTokens(@TempDir Path tmp) throws Exception {
        Path folder = ReferenceFolders.copy("tokenizer/sentencepiece-bos", List.of("tokenizer.json", "tokenizer_config.json"), tmp);
        try (HfTokenizer llama = HfTokenizer.load(folder)) {
            // BOS 1, "▁hello" 358, "▁world" 368, EOS 2
            TokenizedExample e = SftDataset.fromExamples(List.of(SftExample.text("hello world")), llama,
                    SftFormat.defaults()).get(0);
            assertArrayEquals(new long[]{1, 358, 368, 2}, e.inputIds());
        }
    }

    @Test
    void truncationPaddingAndPacking() {
        List<SftExample> records = List.of(SftExample.text("abcdef"), SftExample.text("xy"), SftExample.text("q"));
        TokenizedDataset cut = SftDataset.fromExamples(records, TOK, SftFormat.defaults().withMaxLength(4));
        assertArrayEquals(bytes("abcd"), cut.get(0).inputIds());
        Batch batch = Batch.collate(cut.examples(), ByteLevelTokenizer.PAD);
        assertArrayEquals(new long[]{'x', 'y', EOS, ByteLevelTokenizer.PAD}, batch.inputIds()[1]);
        assertArrayEquals(new long[]{1, 1, 1, 0}, batch.attentionMask()[1], "padding is masked");
        TokenizedDataset packed = SftDataset.fromExamples(records, TOK, SftFormat.defaults().withMaxLength(6).withPacking(true));
        assertEquals(2, packed.size());
        assertArrayEquals(concat(bytes("xy"), EOS, bytes("q"), EOS), packed.get(1).inputIds());
        assertArrayEquals(new int[]{0, 0, 0, 1, 1}, packed.get(1).segments(), "attention stays within each example");
        assertArrayEquals(new long[]{-100, 'y', EOS, -100, EOS}, packed.get(1).labels());
    }

    @Test
    void errorsNameTheExampleAndTheFix() {
        assertMessage(SftExample.chat(ChatMessage.user("x")), "example 1 has no assistant turn");
        assertMessage(null, "example 1 is null");
        assertMessage(SftExample.text(""), "example 1 gives no tokens");
        assertThrows(IllegalArgumentException.class, () -> SftFormat.defaults().withPacking(true));
    }

    private static void assertMessage(SftExample bad, String expected) {
        List<SftExample> examples = new ArrayList<>(List.of(SftExample.text("ok")));
        examples.add(bad);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftDataset.fromExamples(examples, TOK, SftFormat.defaults().withAppendEos(false)));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static SftExample qa(String question, String answer) {
        return SftExample.chat(ChatMessage.user(question), ChatMessage.assistant(answer));
    }

    private static TokenizedExample one(SftExample example, SftFormat format) {
        return SftDataset.fromExamples(List.of(example), TOK, format).get(0);
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
