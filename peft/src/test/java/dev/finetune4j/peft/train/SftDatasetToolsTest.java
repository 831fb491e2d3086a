package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conversations with tools on real models' templates (core's chat-templates fixtures, whose README says where each
 * came from): the trained tokens are exactly the assistant turns, tool calls included, checked against jinja2's
 * render of the same conversation (core's golden.json).
 */
class SftDatasetToolsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> QWEN_TOKENS = Map.of("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>");

    /**
     * Qwen2.5 with two parallel calls, two tool results and a final answer, on a byte-level BPE that knows Qwen's
     * special tokens: the golden render splits by hand into the untrained prompt parts (system prompt with the tools,
     * the user turn, both tool results in one user block) and the two trained assistant parts.
     */
    @Test
    void qwenToolCallsAndTheAnswerAreTrainedAndToolResultsAreNot(@TempDir Path dir) throws Exception {
        JsonNode golden = goldenCase("qwen2.5-7b-instruct", "tools-parallel");
        SftExample example = new SftExample.Chat(ChatJson.messages(golden.get("messages"), "messages"),
                ChatJson.tools(golden.get("tools"), "tools"));
        String render = golden.get("expected").textValue();
        String calls = """
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
                </tool_call>
                <tool_call>
                {"name": "get_time", "arguments": {"zone": "Asia/Tokyo", "offset_minutes": 540}}
                </tool_call><|im_end|>
                """;
        String answer = "18 °C in Paris; 21:04 in Tokyo.<|im_end|>\n";
        int callsAt = render.indexOf(calls);
        int answerAt = render.indexOf(answer);
        assertTrue(callsAt > 0 && answerAt > callsAt && render.endsWith(answer), render);
        String beforeCalls = render.substring(0, callsAt);
        String toolResults = render.substring(callsAt + calls.length(), answerAt);
        assertEquals("<|im_start|>user\n<tool_response>\n{\"temperature\": 18}\n</tool_response>\n<tool_response>\n"
                + "{\"time\": \"21:04\"}\n</tool_response><|im_end|>\n<|im_start|>assistant\n", toolResults);

        try (HfTokenizer tok = byteBpe(dir)) {
            TokenizedExample e = SftDataset.fromExamples(List.of(example), tok,
                    SftFormat.defaults().withTemplate(realTemplate("qwen2.5-7b-instruct"))).get(0);
            assertArrayEquals(concat(tok.encode(beforeCalls), tok.encode(calls), tok.encode(toolResults), tok.encode(answer)),
                    e.inputIds(), "the example is jinja2's render, with no EOS after the template's own end of turn");
            assertArrayEquals(concat(masked(tok.encode(beforeCalls)), tok.encode(calls), masked(tok.encode(toolResults)),
                    tok.encode(answer)), e.labels(), "only the calls and the answer are trained");
            assertEquals(List.of(calls.replace("<|im_end|>", ""), answer.replace("<|im_end|>", "")),
                    trainedSpans(e).stream().map(tok::decode).toList(), "decoded trained spans (special tokens skipped)");
        }
    }

    /** A built-in format cannot write tools: the example is named and the model's own template suggested. */
    @Test
    void aBuiltInTemplateRefusesToolsNamingTheExample() {
        SftExample withCall = SftExample.chat(ChatMessage.user("Paris?"),
                ChatMessage.assistant(List.of(ToolCall.of("get_weather", "{\"city\": \"Paris\"}"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftDataset.fromExamples(
                List.of(SftExample.text("ok"), withCall), new ByteLevelTokenizer(ChatTemplate.CHATML), SftFormat.defaults()));
        assertTrue(e.getMessage().startsWith("example 1: the built-in chat format chatml has no way to write tools")
                && e.getMessage().contains("own chat template"), e.getMessage());
    }

    /**
     * Mistral v0.3 writes the tools before the last user turn, so with two user turns the prompt of the second answer
     * is no continuation of the first exchange: refused like any template that does not append turns.
     */
    @Test
    void aTemplateThatMovesTheToolsIsRefusedAsNotAppending() throws Exception {
        ToolDefinition weather = new ToolDefinition("get_weather", "Current weather in a city",
                "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}");
        SftExample twoQuestions = SftExample.chat(List.of(weather), ChatMessage.user("Hi"), ChatMessage.assistant("Hello"),
                ChatMessage.user("Paris?"), ChatMessage.assistant("Sunny."));
        Tokenizer mistral = new ByteLevelTokenizer(realTemplate("mistral-7b-instruct-v0.3"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SftDataset.fromExamples(List.of(twoQuestions), mistral, SftFormat.defaults()));
        assertTrue(e.getMessage().contains("mistral-7b-instruct-v0.3 does not render conversations by appending turns")
                && e.getMessage().contains("[AVAILABLE_TOOLS]"), e.getMessage());
        TokenizedExample oneQuestion = SftDataset.fromExamples(List.of(SftExample.chat(List.of(weather),
                ChatMessage.user("Paris?"), ChatMessage.assistant("Sunny."))), mistral, SftFormat.defaults()).get(0);
        assertTrue(oneQuestion.lossTokens() > 0, "one exchange appends: its answer is trained");
    }

    private static JsonNode goldenCase(String template, String conversation) throws IOException {
        try (InputStream in = SftDatasetToolsTest.class.getResourceAsStream("/chat-templates/golden.json")) {
            for (JsonNode c : JSON.readTree(in).get("cases")) {
                if (c.get("template").asText().equals(template) && c.get("conversation").asText().equals(conversation)
                        && !c.get("add_generation_prompt").asBoolean()) {
                    return c;
                }
            }
        }
        throw new IllegalStateException("no golden case " + template + "/" + conversation);
    }

    private static JinjaChatTemplate realTemplate(String name) throws IOException {
        return JinjaChatTemplate.parse(name, resource("/chat-templates/" + name + ".jinja"),
                name.startsWith("qwen") ? QWEN_TOKENS : Map.of("bos_token", "<s>", "eos_token", "</s>"));
    }

    /** Core's byte-level BPE test tokenizer (ids 268/269 are Qwen's im_start/im_end), copied out of the test jar. */
    private static HfTokenizer byteBpe(Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), resource("/tokenizer/bytebpe/tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), resource("/tokenizer/bytebpe/tokenizer_config.json"));
        return HfTokenizer.load(dir);
    }

    private static String resource(String path) throws IOException {
        try (InputStream in = SftDatasetToolsTest.class.getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The ids of each maximal run of trained labels. */
    private static List<long[]> trainedSpans(TokenizedExample e) {
        List<long[]> spans = new ArrayList<>();
        int start = -1;
        long[] labels = e.labels();
        for (int i = 0; i <= labels.length; i++) {
            boolean trained = i < labels.length && labels[i] != -100;
            if (trained && start < 0) {
                start = i;
            } else if (!trained && start >= 0) {
                spans.add(Arrays.copyOfRange(labels, start, i));
                start = -1;
            }
        }
        return spans;
    }

    private static long[] masked(long[] ids) {
        long[] out = new long[ids.length];
        Arrays.fill(out, -100);
        return out;
    }

    private static long[] concat(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }
}
