package dev.finetune4j.serve;

import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.BuiltinChatTemplate;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ReasoningParser#THINK} below the route, on scripted model output (a random model writes no tags): the
 * hand-computed split of each case, the same split however the text is cut into pieces (every cut, and character
 * by character), every token reported once, tool calls read after the thinking only; {@code auto} and the prompt
 * that opens thinking on the real chat templates of Qwen3, DeepSeek-R1-Distill and SmolLM3.
 */
class ReasoningSplitterTest {

    /** One choice's thinking, answer and tokens, joined as a client joins the deltas. */
    private record Split(String reasoning, String content, List<Long> tokens) {
    }

    /** Joins what reaches the response writer. */
    private static final class Joiner implements ReasoningSplitter.Sink {
        final StringBuilder reasoning = new StringBuilder();
        final StringBuilder content = new StringBuilder();
        final List<Long> tokens = new ArrayList<>();
        boolean contentStarted;
        ChoiceFinish finish;

        @Override
        public void onReasoning(int choice, String text, long[] ids, List<TokenLogprobs> logprobs) {
            assertFalse(contentStarted, "thinking after the answer began: " + text);
            assertFalse(text.isEmpty());
            reasoning.append(text);
            add(ids);
        }

        @Override
        public void onText(int choice, String text, long[] ids, List<TokenLogprobs> logprobs) {
            contentStarted |= !text.isEmpty();
            content.append(text);
            add(ids);
        }

        @Override
        public void onFinish(int choice, ChoiceFinish value) {
            finish = value;
        }

        private void add(long[] ids) {
            for (long id : ids) {
                tokens.add(id);
            }
        }
    }

    /** The split of {@code pieces} fed one after another, piece {@code i} as token {@code i}. */
    private static Split split(boolean promptOpened, List<String> pieces) {
        Joiner sink = new Joiner();
        ReasoningSplitter splitter = new ReasoningSplitter(new boolean[]{promptOpened}, sink);
        for (int i = 0; i < pieces.size(); i++) {
            splitter.onText(0, pieces.get(i), new long[]{i}, List.of());
        }
        splitter.onFinish(0, ChoiceFinish.LENGTH);
        assertEquals(ChoiceFinish.LENGTH, sink.finish);
        return new Split(sink.reasoning.toString(), sink.content.toString(), sink.tokens);
    }

    /** Asserts the hand-computed split of {@code output}, and that every way of cutting it into pieces gives it. */
    private static void assertSplit(boolean promptOpened, String output, String reasoning, String content) {
        Split whole = split(promptOpened, List.of(output));
        assertEquals(new Split(reasoning, content, List.of(0L)), whole, "whole: " + output);
        for (int cut = 1; cut < output.length(); cut++) {
            Split two = split(promptOpened, List.of(output.substring(0, cut), output.substring(cut)));
            assertEquals(new Split(reasoning, content, List.of(0L, 1L)), two, "cut at " + cut + ": " + output);
        }
        List<String> chars = output.chars().mapToObj(c -> String.valueOf((char) c)).toList();
        Split byChar = split(promptOpened, chars);
        assertEquals(reasoning, byChar.reasoning(), "by character: " + output);
        assertEquals(content, byChar.content(), "by character: " + output);
        assertEquals(chars.size(), byChar.tokens().size(), "every token once");
        for (int i = 0; i < chars.size(); i++) {
            assertEquals(i, byChar.tokens().get(i));
        }
    }

    @Test
    void qwen3sThinkingIsSplitOffWithTheWhitespaceAroundTheTags() {
        assertSplit(false, "<think>\nLet me add: 2 + 2 < 5.\n\n2 + 2 = 4.\n</think>\n\nThe answer is 4.\n",
                "Let me add: 2 + 2 < 5.\n\n2 + 2 = 4.", "The answer is 4.\n");
        assertSplit(false, "\n <think>x</think>y </think> z", "x", "y </think> z");
    }

    @Test
    void thinkingThePromptOpenedEndsAtTheFirstEndTag() {
        // DeepSeek-R1-Distill: the template writes <think>\n, the model goes on from there
        assertSplit(true, "Okay, 1 + 1.\n</think>\n\n**2**", "Okay, 1 + 1.", "**2**");
        assertSplit(true, "\n<think>\nx</think>y", "x", "y");
        assertSplit(true, "</think>\n\nNo thoughts.", "", "No thoughts.");
    }

    @Test
    void thinkingThatNeverEndsIsAllReasoning() {
        assertSplit(false, "<think>\nStill weighing a < b and </thi", "Still weighing a < b and </thi", "");
        assertSplit(true, "Still weighing \n", "Still weighing", "");
        assertSplit(false, "<think>\n\n", "", "");
    }

    @Test
    void anOutputThatOpensNoThinkingIsContentAsGenerated() {
        assertSplit(false, "  Hello <there>, <thin", "", "  Hello <there>, <thin");
        // Qwen3 with enable_thinking false closes an empty <think></think> in the prompt
        assertSplit(false, "Sure.</think> done", "", "Sure.</think> done");
        assertSplit(false, " \n", "", " \n");
        assertSplit(false, "<thin", "", "<thin");
    }

    @Test
    void emptyThinkingReportsNoReasoningAndItsTokensGoWithTheAnswer() {
        SplitRecorder sink = new SplitRecorder();
        ReasoningSplitter splitter = new ReasoningSplitter(new boolean[]{false, true}, sink);

        splitter.onText(0, "<think>\n\n</think>\n\n", new long[]{1, 2}, List.of());
        splitter.onText(1, "Hm", new long[]{7}, List.of());
        splitter.onText(0, "Hi", new long[]{3}, List.of());
        splitter.onText(1, " </think>", new long[]{8}, List.of());
        splitter.onFinish(1, ChoiceFinish.STOP);
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of(
                "1 reason 'Hm' [7]",
                "0 text 'Hi' [1, 2, 3]",
                "1 text '' [8]",
                "1 finish STOP",
                "0 finish STOP"), sink.events);
    }

    @Test
    void toolCallsAreReadFromTheAnswerAfterTheThinkingOnly() {
        SplitRecorder sink = new SplitRecorder();
        ReasoningSplitter splitter = new ReasoningSplitter(new boolean[]{false},
                new ToolCallSplitter(ToolCallFormat.HERMES, true, 1, sink));

        splitter.onText(0, "<think>\nI could write <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", new long[]{1}, List.of());
        splitter.onText(0, " but get_time fits.\n</thi", new long[]{2}, List.of());
        splitter.onText(0, "nk>\n\n<tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>", new long[]{3}, List.of());
        splitter.onFinish(0, ChoiceFinish.STOP);

        assertEquals(List.of(
                "0 reason 'I could write <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>' [1]",
                "0 reason ' but get_time fits.' [2]",
                "0 start 0 get_time [3]",
                "0 args 0 {} []",
                "0 call 0 get_time {}",
                "0 finish TOOL_CALLS"), sink.events);
    }

    @Test
    void autoSplitsForTheTemplatesThatWriteThinkTags() throws IOException {
        for (String thinking : List.of("qwen3-0.6b", "deepseek-r1-distill-qwen-32b", "smollm3-3b")) {
            assertEquals(ReasoningParser.THINK, ReasoningParser.AUTO.resolve(template(thinking)), thinking);
        }
        for (String plain : List.of("qwen2.5-7b-instruct", "llama-3.1-8b-instruct", "gpt-oss", "mistral-7b-instruct-v0.3")) {
            assertEquals(ReasoningParser.NONE, ReasoningParser.AUTO.resolve(template(plain)), plain);
        }
        assertEquals(ReasoningParser.NONE, ReasoningParser.AUTO.resolve(BuiltinChatTemplate.CHATML));
        assertEquals(ReasoningParser.NONE, ReasoningParser.AUTO.resolve(null));
        assertEquals(ReasoningParser.THINK, ReasoningParser.THINK.resolve(BuiltinChatTemplate.CHATML));
        assertEquals(ReasoningParser.NONE, ReasoningParser.NONE.resolve(template("qwen3-0.6b")));
    }

    @Test
    void onlyTheDeepSeekR1DistillPromptOpensThinking() throws IOException {
        List<ChatMessage> conversation = List.of(ChatMessage.user("What is 2 + 2?"));
        try (HfTokenizer tokenizer = HfTokenizer.load(ServerFixture.modelDir())) {
            assertTrue(opens(tokenizer, template("deepseek-r1-distill-qwen-32b"), conversation));
            assertFalse(opens(tokenizer, template("qwen3-0.6b"), conversation));
            // thinking off: the template closes an empty <think></think> in the prompt
            assertFalse(opens(tokenizer, template("qwen3-0.6b").withVariables(Map.of("enable_thinking", false)), conversation));
            assertFalse(opens(tokenizer, template("smollm3-3b"), conversation));
            assertFalse(opens(tokenizer, template("smollm3-3b").withVariables(Map.of("enable_thinking", false)), conversation));
        }
    }

    @Test
    void parsersAreNamedAsTheOptionNamesThem() {
        assertEquals(ReasoningParser.THINK, ReasoningParser.named("Think"));
        assertEquals(ReasoningParser.AUTO, ReasoningParser.named("auto"));
        assertEquals(ReasoningParser.NONE, ReasoningParser.named("none"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReasoningParser.named("deepseek_r1"));
        assertEquals("unknown reasoning parser 'deepseek_r1'; use one of none, think, auto", e.getMessage());
    }

    private static boolean opens(HfTokenizer tokenizer, JinjaChatTemplate template, List<ChatMessage> conversation) {
        String prompt = template.render(conversation, true);
        return ReasoningSplitter.promptOpensThinking(tokenizer, tokenizer.encode(prompt));
    }

    /** A real model's chat template from core's test fixtures. */
    private static JinjaChatTemplate template(String name) throws IOException {
        try (InputStream in = ReasoningSplitterTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja")) {
            return JinjaChatTemplate.parse(name, new String(in.readAllBytes(), StandardCharsets.UTF_8),
                    Map.of("bos_token", "<s>", "eos_token", "</s>"));
        }
    }
}
