package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TokenizedExample;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code finetune4j train} on conversation rows (OpenAI messages with tools, ShareGPT conversations with tool turns)
 * with a tokenizer whose chat template is Qwen2.5's ({@link CliTestSupport#qwenToolTokenizer}).
 */
class TrainConversationsTest {
    private static final String WEATHER_TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            + "\"description\": \"Current weather\", \"parameters\": {\"type\": \"object\", \"properties\": "
            + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}";
    private static final List<String> ROWS = List.of(
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", "
                    + "\"content\": null, \"tool_calls\": [" + call("call_1", "Paris") + "]}, {\"role\": \"tool\", "
                    + "\"tool_call_id\": \"call_1\", \"content\": \"{\\\"celsius\\\": 18}\"}, {\"role\": \"assistant\", "
                    + "\"content\": \"18 °C in Paris.\"}], \"tools\": [" + WEATHER_TOOL + "]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Paris and Lyon?\"}, {\"role\": \"assistant\", "
                    + "\"content\": \"\", \"tool_calls\": [" + call("c1", "Paris") + ", " + call("c2", "Lyon") + "]}, "
                    + "{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"{\\\"celsius\\\": 18}\"}, "
                    + "{\"role\": \"tool\", \"tool_call_id\": \"c2\", \"content\": \"{\\\"celsius\\\": 21}\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"Paris 18 °C, Lyon 21 °C.\"}], \"tools\": [" + WEATHER_TOOL + "]}",
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Hello!\"}]}");

    /**
     * The first two rows of {@link #ROWS} as LLaMA-Factory's sharegpt format writes them: function_call and observation
     * turns, tools as JSON text of the bare function (glaive's layout) in the first, as an OpenAI array in the second.
     */
    private static final List<String> SHAREGPT_ROWS = List.of(
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"Weather in Paris?\"}, {\"from\": \"function_call\", "
                    + "\"value\": \"" + shareGptCall("Paris") + "\"}, {\"from\": \"observation\", \"value\": "
                    + "\"{\\\"celsius\\\": 18}\"}, {\"from\": \"gpt\", \"value\": \"18 °C in Paris.\"}], \"tools\": "
                    + "\"[{\\\"name\\\": \\\"get_weather\\\", \\\"description\\\": \\\"Current weather\\\", "
                    + "\\\"parameters\\\": {\\\"type\\\": \\\"object\\\", \\\"properties\\\": {\\\"city\\\": "
                    + "{\\\"type\\\": \\\"string\\\"}}, \\\"required\\\": [\\\"city\\\"]}}]\"}",
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"Paris and Lyon?\"}, {\"from\": \"function_call\", "
                    + "\"value\": \"[" + shareGptCall("Paris") + ", " + shareGptCall("Lyon") + "]\"}, {\"from\": "
                    + "\"observation\", \"value\": \"{\\\"celsius\\\": 18}\"}, {\"from\": \"observation\", \"value\": "
                    + "\"{\\\"celsius\\\": 21}\"}, {\"from\": \"gpt\", \"value\": \"Paris 18 °C, Lyon 21 °C.\"}], "
                    + "\"tools\": [" + WEATHER_TOOL + "]}");

    @TempDir
    Path dir;

    private static String call(String id, String city) {
        return "{\"id\": \"" + id + "\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"arguments\": \"{\\\"city\\\": \\\"" + city + "\\\"}\"}}";
    }

    /** What Qwen2.5's template writes for a call of get_weather, as its format says (by hand, not rendered). */
    private static String qwenCall(String city) {
        return "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" + city + "\"}}\n</tool_call>";
    }

    @BeforeEach
    void tokenizerModelAndData() throws IOException {
        CliTestSupport.qwenToolTokenizer(dir.resolve("tok"));
        // the BPE has 270 tokens; Qwen's tool system prompt makes rows of several hundred
        CliTestSupport.tinyModel(dir.resolve("model"), BaseModelConfig.configJson().put("vocab_size", 272)
                .put("max_position_embeddings", 2048));
        Files.write(dir.resolve("tools.jsonl"), ROWS);
    }

    /**
     * The trained tokens of each row are the assistant turns as Qwen's format writes them (tool calls, end-of-turn
     * marker), with no EOS appended after the marker (Qwen's end of turn is its EOS); the tool results and the tools'
     * system prompt lie in the masked part.
     */
    @Test
    void conversationRowsTrainTheAssistantTurnsToolCallsIncluded() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(dir.resolve("tok"))) {
            TokenizedDataset data = new TrainData(tok, null, 1024, new PrintWriter(new StringWriter()))
                    .sft(dir.resolve("tools.jsonl"), null, null);
            String eos = "<|im_end|>";
            List<List<String>> expected = List.of(
                    List.of(qwenCall("Paris") + eos + "\n", "18 °C in Paris." + eos + "\n"),
                    List.of(qwenCall("Paris") + "\n" + qwenCall("Lyon") + eos + "\n", "Paris 18 °C, Lyon 21 °C." + eos + "\n"),
                    List.of("Hello!" + eos + "\n"));
            assertEquals(3, data.size());
            for (int i = 0; i < 3; i++) {
                TokenizedExample e = data.get(i);
                List<long[]> spans = trainedSpans(e);
                assertEquals(expected.get(i).size(), spans.size(), "row " + (i + 1));
                for (int s = 0; s < spans.size(); s++) {
                    assertArrayEquals(tok.encode(expected.get(i).get(s)), spans.get(s), "row " + (i + 1) + " span " + s
                            + ": " + tok.decode(spans.get(s)));
                }
            }
            String maskedFirst = tok.decode(masked(data.get(0)));
            assertTrue(maskedFirst.contains("<tool_response>\n{\"celsius\": 18}\n</tool_response>")
                    && maskedFirst.contains("\"name\": \"get_weather\"") && maskedFirst.contains("Weather in Paris?"), maskedFirst);
            assertTrue(tok.decode(masked(data.get(1))).contains("<tool_response>\n{\"celsius\": 18}\n</tool_response>\n"
                    + "<tool_response>\n{\"celsius\": 21}\n</tool_response>"), "both results masked, in one block");
        }
    }

    /** A call of get_weather as a function_call value holds it, escaped for the JSON line. */
    private static String shareGptCall(String city) {
        return "{\\\"name\\\": \\\"get_weather\\\", \\\"arguments\\\": {\\\"city\\\": \\\"" + city + "\\\"}}";
    }

    /**
     * A conversation written in ShareGPT's tool turns trains exactly as the same conversation in OpenAI's shape: the
     * same input ids and the same labels (the calls trained, the observations masked).
     */
    @Test
    void shareGptToolRowsTrainExactlyAsTheirOpenAiForm() throws IOException {
        Files.write(dir.resolve("sharegpt.jsonl"), SHAREGPT_ROWS);
        Files.write(dir.resolve("openai.jsonl"), ROWS.subList(0, 2));
        try (HfTokenizer tok = HfTokenizer.load(dir.resolve("tok"))) {
            TrainData reader = new TrainData(tok, null, 1024, new PrintWriter(new StringWriter()));
            TokenizedDataset sharegpt = reader.sft(dir.resolve("sharegpt.jsonl"), null, null);
            TokenizedDataset openai = reader.sft(dir.resolve("openai.jsonl"), null, null);
            assertEquals(2, sharegpt.size());
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(openai.get(i).inputIds(), sharegpt.get(i).inputIds(), "row " + (i + 1) + " ids");
                assertArrayEquals(openai.get(i).labels(), sharegpt.get(i).labels(), "row " + (i + 1) + " labels");
            }
            assertArrayEquals(tok.encode(qwenCall("Paris") + "<|im_end|>\n"), trainedSpans(sharegpt.get(0)).getFirst());
            assertTrue(tok.decode(masked(sharegpt.get(1))).contains("<tool_response>\n{\"celsius\": 18}\n</tool_response>\n"
                    + "<tool_response>\n{\"celsius\": 21}\n</tool_response>"), "both observations masked");
        }
    }

    /** A ShareGPT row whose function_call is not a call is bad input naming its line and turn. */
    @Test
    void aShareGptRowWithABadCallIsNamedByItsLineAndTurn() throws Exception {
        Files.write(dir.resolve("bad-call.jsonl"), List.of(SHAREGPT_ROWS.get(0), "{\"conversations\": [{\"from\": "
                + "\"human\", \"value\": \"Paris?\"}, {\"from\": \"function_call\", \"value\": \"{\\\"arguments\\\": {}}\"}]}"));
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("bad-call.jsonl", "tok").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains(dir.resolve("bad-call.jsonl") + " line 2: SHAREGPT record: conversations[1].value "
                + "(function_call) has no function name"), r.err());
    }

    /** max_length cuts conversation rows as it cuts prompt/response rows: the cut and the untrained rows are counted. */
    @Test
    void maxLengthCutsConversationRowsWithWarnings() throws IOException {
        StringWriter warnings = new StringWriter();
        try (HfTokenizer tok = HfTokenizer.load(dir.resolve("tok"))) {
            TokenizedDataset data = new TrainData(tok, null, 200, new PrintWriter(warnings))
                    .sft(dir.resolve("tools.jsonl"), null, null);
            assertEquals(List.of(200, 200), List.of(data.get(0).length(), data.get(1).length()));
            assertEquals(List.of(0, 0), List.of(data.get(0).lossTokens(), data.get(1).lossTokens()),
                    "the tools' system prompt alone fills 200 tokens");
            assertTrue(data.get(2).length() < 200 && data.get(2).lossTokens() > 0);
        }
        assertTrue(warnings.toString().contains("2 of 3 rows of " + dir.resolve("tools.jsonl") + " were cut to "
                + "data.max_length = 200 tokens") && warnings.toString().contains("2 of 3 rows")
                && warnings.toString().contains("keep no answer token"), warnings.toString());
    }

    @Test
    void trainRunsOnToolConversationsWithAFiniteLoss() throws Exception {
        Path config = dir.resolve("train.yaml");
        Files.writeString(config, """
                model: model
                tokenizer: tok
                method: lora
                peft: {r: 4, lora_alpha: 8, target_modules: [q_proj, v_proj]}
                data: {train: tools.jsonl, validation: tools.jsonl, max_length: 1024}
                training: {max_steps: 2, micro_batch_size: 3, learning_rate: 1.0e-3, seed: 1, eval_every_steps: 2}
                output: run
                """);
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertFalse(r.err().contains("were cut"), r.err());
        Matcher m = Pattern.compile("2 steps .*final loss ([0-9.]+), best eval loss ([0-9.]+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        double loss = Double.parseDouble(m.group(1));
        double eval = Double.parseDouble(m.group(2));
        // random N(0, 0.02) weights predict about uniformly over 272 tokens: loss near ln 272 = 5.6
        assertTrue(Double.isFinite(loss) && loss > 4 && loss < 7 && Double.isFinite(eval), r.out());
        assertTrue(Files.exists(dir.resolve("run/adapter/adapter_model.safetensors")));
    }

    @Test
    void aRowThatIsNotAConversationIsNamedByItsLine() throws Exception {
        Files.write(dir.resolve("mixed.jsonl"), List.of(ROWS.get(0), "{\"instruction\": \"Hi\", \"output\": \"Yo\"}"));
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("mixed.jsonl", "tok").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains(dir.resolve("mixed.jsonl") + " line 2: not a conversation (fields [instruction, "
                + "output])"), r.err());
    }

    @Test
    void aBuiltInTemplateRefusesToolRowsNamingTheLine() throws Exception {
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("tools.jsonl", "byte-level").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains(dir.resolve("tools.jsonl") + " line 1: the built-in chat format simple has no way "
                + "to write tools"), r.err());
    }

    /**
     * A row's reasoning trace reaches the chat template (here the built-in format, which has no place for one and
     * says so, naming the line) rather than being dropped on the way from the JSONL file.
     */
    @Test
    void aReasoningTraceReachesTheTemplate() throws Exception {
        Files.write(dir.resolve("traces.jsonl"), List.of("{\"messages\": [{\"role\": \"user\", \"content\": \"2 + 2?\"}, "
                + "{\"role\": \"assistant\", \"content\": \"4\", \"thinking\": \"Two and two make four.\"}]}"));
        CliTestSupport.Run r = CliTestSupport.run("train", "-c", config("traces.jsonl", "byte-level").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains(dir.resolve("traces.jsonl") + " line 1: ") && r.err().contains("reasoning trace"),
                r.err());
    }

    private Path config(String train, String tokenizer) throws IOException {
        return Files.writeString(dir.resolve("bad.yaml"), """
                model: model
                tokenizer: %s
                method: lora
                data: {train: %s, max_length: 1024}
                training: {max_steps: 1, micro_batch_size: 2}
                output: bad-run
                """.formatted(tokenizer, train));
    }

    /** The ids of each maximal run of trained labels. */
    private static List<long[]> trainedSpans(TokenizedExample e) {
        List<long[]> spans = new ArrayList<>();
        long[] labels = e.labels();
        int start = -1;
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

    /** The input ids whose labels are masked. */
    private static long[] masked(TokenizedExample e) {
        long[] ids = e.inputIds();
        return java.util.stream.IntStream.range(0, ids.length).filter(i -> e.labels()[i] == -100).mapToLong(i -> ids[i])
                .toArray();
    }
}
