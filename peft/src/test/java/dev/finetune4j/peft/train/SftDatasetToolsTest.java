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
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conversations with tools and reasoning traces on real models' templates (core's chat-templates fixtures, whose
 * README says where each came from): the trained tokens are exactly the assistant turns, tool calls and traces
 * included, checked against jinja2's render of the same conversation (core's golden.json.gz).
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
        SftExample example = example(golden);
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

    /**
     * Qwen3 with a traced call, its result and a traced answer (all after the last user turn, where Qwen3 keeps
     * traces): the golden render splits by hand at the assistant prefixes; both think blocks are trained, the user
     * turn and the tool result are not.
     */
    @Test
    void qwen3TracesAreTrainedWithTheirTurnsAndToolResultsAreNot(@TempDir Path dir) throws Exception {
        JsonNode golden = goldenCase("qwen3-0.6b", "reasoning-content-tool-call");
        String render = golden.get("expected").textValue();
        String opening = "<|im_start|>assistant\n";
        int call = render.indexOf(opening) + opening.length();
        int answer = render.lastIndexOf(opening) + opening.length();
        int result = render.indexOf("<|im_start|>user\n<tool_response>");
        String prompt = render.substring(0, call);
        String tracedCall = render.substring(call, result);
        String toolResult = render.substring(result, answer);
        String tracedAnswer = render.substring(answer);
        assertTrue(prompt.endsWith("What's the weather in Paris?<|im_end|>\n" + opening), prompt);
        assertTrue(tracedCall.startsWith("<think>\nI need the weather tool.\n</think>\n\n<tool_call>"), tracedCall);
        assertEquals("<think>\nReport it.\n</think>\n\n18 °C.<|im_end|>\n", tracedAnswer);

        try (HfTokenizer tok = byteBpe(dir)) {
            TokenizedExample e = SftDataset.fromExamples(List.of(example(golden)), tok,
                    SftFormat.defaults().withTemplate(realTemplate("qwen3-0.6b"))).get(0);
            assertArrayEquals(concat(tok.encode(prompt), tok.encode(tracedCall), tok.encode(toolResult),
                    tok.encode(tracedAnswer)), e.inputIds(), "the example is jinja2's render");
            assertArrayEquals(concat(masked(tok.encode(prompt)), tok.encode(tracedCall), masked(tok.encode(toolResult)),
                    tok.encode(tracedAnswer)), e.labels(), "the traced call and the traced answer are trained");
        }
    }

    /** gpt-oss keeps the trace of a last answer as its analysis message: trained with the answer, after the prompt. */
    @Test
    void gptOssAnalysisOfTheLastAnswerIsTrained() throws Exception {
        JsonNode golden = goldenCase("gpt-oss", "thinking-last");
        String render = golden.get("expected").textValue();
        String trained = "<|channel|>analysis<|message|>34 + 17 = 51.<|end|>"
                + "<|start|>assistant<|channel|>final<|message|>51.<|return|>";
        assertTrue(render.endsWith("<|start|>user<|message|>What is 17 * 3?<|end|><|start|>assistant" + trained), render);
        // the date golden.json.gz was rendered on, which gpt-oss's system message prints
        Clock renderedOn = Clock.fixed(Instant.parse("2026-03-07T09:05:03Z"), ZoneOffset.UTC);
        Tokenizer bytes = new ByteLevelTokenizer(realTemplate("gpt-oss").withClock(renderedOn));
        TokenizedExample e = SftDataset.fromExamples(List.of(example(golden)), bytes,
                SftFormat.defaults().withAppendEos(false)).get(0);
        assertEquals(render, bytes.decode(e.inputIds()), "the example is jinja2's render");
        assertEquals(List.of(trained), trainedSpans(e).stream().map(bytes::decode).toList());
    }

    /**
     * Qwen3 drops the traces of turns before the last user turn (and gpt-oss that of a call once it is answered), so
     * a conversation's first exchange is not a prefix of the whole: refused, naming the traces and what to do; the
     * fix it names (a template that renders every turn's trace, here Qwen3's without its last-turns rule) trains
     * both traces.
     */
    @Test
    void templatesThatDropEarlierTracesAreRefusedWithWhatToDo(@TempDir Path dir) throws Exception {
        JsonNode twoTurns = goldenCase("qwen3-0.6b", "reasoning-content-two-turns");
        JsonNode answeredCall = goldenCase("gpt-oss", "thinking-tool-call-answered");
        try (HfTokenizer tok = byteBpe(dir)) {
            for (JsonNode golden : List.of(twoTurns, answeredCall)) {
                String name = golden.get("template").asText();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> SftDataset.fromExamples(
                        List.of(example(golden)), tok, SftFormat.defaults().withTemplate(realTemplate(name))));
                assertTrue(e.getMessage().contains(name + " does not render conversations by appending turns")
                        && e.getMessage().contains("the conversation carries reasoning traces")
                        && e.getMessage().contains("SftFormat.withTemplate(JinjaChatTemplate.parse(...))"), e.getMessage());
            }
            String lastTurnsRule = "{%- if loop.index0 > ns.last_query_index %}";
            String qwen3 = resource("/chat-templates/qwen3-0.6b.jinja");
            assertTrue(qwen3.contains(lastTurnsRule));
            JinjaChatTemplate everyTurn = JinjaChatTemplate.parse("qwen3, every turn's trace",
                    qwen3.replace(lastTurnsRule, "{%- if true %}"), QWEN_TOKENS);
            TokenizedExample e = SftDataset.fromExamples(List.of(example(twoTurns)), tok,
                    SftFormat.defaults().withTemplate(everyTurn)).get(0);
            assertEquals(List.of("<think>\nA greeting.\n</think>\n\nHello!\n", "<think>\nTwo and two.\n</think>\n\n4\n"),
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
        try (InputStream in = new GZIPInputStream(
                SftDatasetToolsTest.class.getResourceAsStream("/chat-templates/golden.json.gz"))) {
            for (JsonNode c : JSON.readTree(in).get("cases")) {
                if (c.get("template").asText().equals(template) && c.get("conversation").asText().equals(conversation)
                        && !c.get("add_generation_prompt").asBoolean()) {
                    return c;
                }
            }
        }
        throw new IllegalStateException("no golden case " + template + "/" + conversation);
    }

    private static SftExample example(JsonNode golden) {
        return new SftExample.Chat(ChatJson.messages(golden.get("messages"), "messages"),
                ChatJson.tools(golden.get("tools"), "tools"));
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
