package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import dev.finetune4j.eval.ToolCallMetrics;
import dev.finetune4j.eval.ToolCallScore;
import dev.finetune4j.samples.quickstart.BaseModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code finetune4j eval --tool-calls}: a predictions file, a model's answers to held-out conversations, bad input. */
class EvalToolCallsTest {
    private static final String WEATHER_TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            + "\"description\": \"Current weather\", \"parameters\": {\"type\": \"object\", \"properties\": "
            + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}";
    /** Held-out conversations: one expects a call, two expect a plain answer (one after a tool's result). */
    private static final List<String> CONVERSATIONS = List.of(
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", "
                    + "\"content\": null, \"tool_calls\": [" + call("call_1", "get_weather", "{\\\"city\\\": \\\"Paris\\\"}")
                    + "]}], \"tools\": [" + WEATHER_TOOL + "]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Lyon?\"}, {\"role\": \"assistant\", "
                    + "\"content\": \"\", \"tool_calls\": [" + call("c1", "get_weather", "{\\\"city\\\": \\\"Lyon\\\"}")
                    + "]}, {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"{\\\"celsius\\\": 21}\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"21 °C in Lyon.\"}], \"tools\": [" + WEATHER_TOOL + "]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}");

    @TempDir
    Path dir;

    private static String call(String id, String name, String argumentsJsonText) {
        return "{\"id\": \"" + id + "\", \"type\": \"function\", \"function\": {\"name\": \"" + name + "\", "
                + "\"arguments\": \"" + argumentsJsonText + "\"}}";
    }

    private static String turn(String content, String... calls) {
        return "{\"role\": \"assistant\", \"content\": " + content
                + (calls.length == 0 ? "" : ", \"tool_calls\": [" + String.join(", ", calls) + "]") + "}";
    }

    private static String row(String prediction, String reference) {
        return "{\"prediction\": " + prediction + ", \"reference\": " + reference + "}";
    }

    /**
     * Six rows, counted by hand: (1) the right call, arguments spaced otherwise; (2) the right function with a wrong
     * and an extra argument; (3) a plain answer for a plain answer; (4) a plain answer where a call of two arguments was
     * expected; (5) two calls, one with malformed arguments, where a plain answer was expected; (6) two parallel
     * calls in the other order, arguments as objects.
     * <ul>
     *   <li>exact: rows 1, 3, 6 = 3/6; decision (call iff a call was expected): rows 1, 2, 3, 6 = 4/6</li>
     *   <li>names: given 1+1+0+0+2+2 = 6, expected 1+1+0+1+0+2 = 5, right 1+1+0+0+0+2 = 4: P 4/6, R 4/5</li>
     *   <li>arguments: given 1+2+0+0+0+2 = 5 (malformed ones count as none), expected 1+1+0+2+0+2 = 6, right
     *   1+0+0+0+0+2 = 3: P 3/5, R 3/6</li>
     *   <li>invalid arguments: 1; rows expecting calls: 1, 2, 4, 6</li>
     * </ul>
     */
    @Test
    void scoresAPredictionsFileAsCountedByHand() throws Exception {
        String paris = call("call_1", "get_weather", "{\\\"city\\\": \\\"Paris\\\"}");
        String lyon = call("call_2", "get_weather", "{\\\"city\\\": \\\"Lyon\\\"}");
        String lyonObject = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}}";
        String parisObject = "{\"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}";
        Files.write(dir.resolve("preds.jsonl"), List.of(
                row(turn("null", call("x", "get_weather", "{\\\"city\\\":\\\"Paris\\\"}")), turn("null", paris)),
                row(turn("\"\"", call("x", "get_weather", "{\\\"city\\\": \\\"Lyon\\\", \\\"unit\\\": \\\"c\\\"}")),
                        turn("null", paris)),
                row(turn("\"Hello\""), turn("\"Hi there\"")),
                row(turn("\"It is noon.\""), turn("null", call("t", "get_time", "{\\\"tz\\\": \\\"UTC\\\", \\\"format\\\": \\\"24h\\\"}"))),
                row(turn("null", call("a", "get_weather", "{city: Paris"), call("b", "get_time", "{}")), turn("\"Hello!\"")),
                row(turn("[{\"type\": \"text\", \"text\": \"Both:\"}]", lyonObject, parisObject), turn("null", paris, lyon))));
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "--predictions",
                dir.resolve("preds.jsonl").toString(), "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode m = new ObjectMapper().readTree(out.toFile()).get("metrics");
        assertEquals(3 / 6.0, m.get("exact_match").asDouble(), 1e-12, m.toString());
        assertEquals(4 / 6.0, m.get("decision_accuracy").asDouble(), 1e-12);
        assertEquals(4 / 6.0, m.get("name_precision").asDouble(), 1e-12);
        assertEquals(4 / 5.0, m.get("name_recall").asDouble(), 1e-12);
        assertEquals(2 * (4 / 6.0) * (4 / 5.0) / (4 / 6.0 + 4 / 5.0), m.get("name_f1").asDouble(), 1e-12);
        assertEquals(3 / 5.0, m.get("argument_precision").asDouble(), 1e-12);
        assertEquals(3 / 6.0, m.get("argument_recall").asDouble(), 1e-12);
        assertEquals(2 * 0.6 * 0.5 / 1.1, m.get("argument_f1").asDouble(), 1e-12);
        assertEquals(1, m.get("invalid_arguments").asInt());
        assertEquals(6, m.get("examples").asInt());
        assertEquals(4, m.get("examples_expecting_calls").asInt());
        assertTrue(r.out().contains("exact_match              0.5000") && r.out().contains("name_recall              0.8000")
                && r.out().contains("invalid_arguments        1"), r.out());
    }

    /**
     * The model's answers equal what the Generator gives for each conversation alone (rendered with its tools by the
     * chat template), read for calls with the Hermes format that Qwen's template shows, and scored by ToolCallMetrics.
     */
    @Test
    void scoresAModelsAnswersAsTheGeneratorAndParserGiveThem() throws Exception {
        Path model = toolModel();
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "--model", model.toString(), "--tokenizer",
                dir.resolve("tok").toString(), "--data", dir.resolve("held-out.jsonl").toString(), "--max-new-tokens", "12",
                "--batch-size", "2", "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.err().contains("answered 3 of 3 prompts"), r.err());
        JsonNode result = new ObjectMapper().readTree(out.toFile());
        assertEquals("hermes", result.get("tool_call_format").asText());

        List<List<ToolCall>> predicted = new ArrayList<>();
        List<String> contents = new ArrayList<>();
        try (HfTokenizer tok = HfTokenizer.load(dir.resolve("tok")); LanguageModel lm = AutoModel.loadCausalLM(model)) {
            GenerationConfig cfg = GenerationConfig.builder().maxNewTokens(12)
                    .stopTokens(Set.of(tok.eosTokenId().getAsLong())).build();
            for (Conversation c : heldOut()) {
                long[] prompt = tok.encode(tok.applyChatTemplate(c.context(), c.tools(), true));
                long[] ids = Generator.generate(lm, prompt, cfg);
                var parsed = ToolCallFormat.HERMES.parse(tok.decode(Arrays.copyOfRange(ids, prompt.length, ids.length)).strip());
                predicted.add(parsed.calls());
                contents.add(parsed.content() == null ? "" : parsed.content());
            }
        }
        ToolCallScore expected = ToolCallMetrics.score(predicted, heldOut().stream().map(c -> c.expected().toolCalls()).toList());
        JsonNode m = result.get("metrics");
        assertEquals(expected.exactMatch(), m.get("exact_match").asDouble(), 1e-12, m.toString());
        assertEquals(expected.decisionAccuracy(), m.get("decision_accuracy").asDouble(), 1e-12);
        assertEquals(expected.nameF1(), m.get("name_f1").asDouble(), 1e-12);
        assertEquals(expected.argumentF1(), m.get("argument_f1").asDouble(), 1e-12);
        assertEquals(expected.invalidArguments(), m.get("invalid_arguments").asInt());
        assertEquals(3, m.get("examples").asInt());
        assertEquals(1, m.get("examples_expecting_calls").asInt());
        JsonNode predictions = result.get("predictions");
        assertEquals(3, predictions.size());
        for (int i = 0; i < 3; i++) {
            assertEquals("assistant", predictions.get(i).get("role").asText());
            assertEquals(contents.get(i), predictions.get(i).get("content").asText(), "row " + (i + 1));
            assertEquals(predicted.get(i).size(), predictions.get(i).path("tool_calls").size(), "row " + (i + 1));
        }
    }

    /**
     * With no tokens to answer in, every answer is empty: a plain answer. By hand: row 1 expected a call (wrong
     * decision, not exact, its one name and one argument missed), rows 2 and 3 a plain answer (right and exact): exact
     * and decision 2/3; nothing called, so name and argument precision 0 (nothing given, something expected), recall 0.
     */
    @Test
    void emptyAnswersScoreAsPlainAnswersCountedByHand() throws Exception {
        Path model = toolModel();
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "--model", model.toString(), "--tokenizer",
                dir.resolve("tok").toString(), "--data", dir.resolve("held-out.jsonl").toString(), "--max-new-tokens", "0",
                "--tool-call-parser", "hermes", "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode result = new ObjectMapper().readTree(out.toFile());
        JsonNode m = result.get("metrics");
        assertEquals(2 / 3.0, m.get("exact_match").asDouble(), 1e-12, m.toString());
        assertEquals(2 / 3.0, m.get("decision_accuracy").asDouble(), 1e-12);
        for (String zero : List.of("name_precision", "name_recall", "name_f1", "argument_precision", "argument_recall",
                "argument_f1")) {
            assertEquals(0.0, m.get(zero).asDouble(), zero);
        }
        assertEquals(0, m.get("invalid_arguments").asInt());
        for (JsonNode p : result.get("predictions")) {
            assertEquals("{\"role\":\"assistant\",\"content\":\"\"}", p.toString());
        }
    }

    /** A template that shows no call format needs --tool-call-parser; forced, a built-in template cannot write tools. */
    @Test
    void aTemplateWithoutACallFormatNeedsTheParserAndABuiltInOneCannotWriteTools() throws Exception {
        Path model = CliTestSupport.tinyModel(dir.resolve("model"));
        Files.write(dir.resolve("held-out.jsonl"), CONVERSATIONS);
        String[] common = {"eval", "--tool-calls", "--model", model.toString(), "--tokenizer", "byte-level", "--data",
                dir.resolve("held-out.jsonl").toString()};
        CliTestSupport.Run auto = CliTestSupport.run(common);
        assertEquals(ExitCodes.BAD_INPUT, auto.exitCode());
        assertTrue(auto.err().contains("--tool-call-parser auto: the chat template shows none of the known tool call "
                + "formats") && auto.err().contains("--tool-call-parser hermes, llama3_json, mistral"), auto.err());
        List<String> forced = new ArrayList<>(List.of(common));
        forced.addAll(List.of("--tool-call-parser", "hermes"));
        CliTestSupport.Run r = CliTestSupport.run(forced.toArray(String[]::new));
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains(dir.resolve("held-out.jsonl") + " line 1: the built-in chat format simple has no way "
                + "to write tools"), r.err());
        assertFalse(r.err().contains("answered"), r.err());
    }

    @Test
    void badPredictionRowsAreNamedByFileAndLine() throws Exception {
        String ok = row(turn("\"a\""), turn("\"b\""));
        String[][] cases = {
                {row(turn("\"a\""), turn("\"b\"")).replace("\"reference\"", "\"ref\""),
                        "line 2: no object field 'reference' (fields: [prediction, ref]); every line of a --tool-calls "
                                + "--predictions file needs 'prediction' and 'reference' assistant messages"},
                {row("{\"role\": \"user\", \"content\": \"a\"}", turn("\"b\"")), "line 2: prediction.role is user"},
                {row(turn("null", "{\"function\": {\"arguments\": \"{}\"}}"), turn("\"b\"")),
                        "line 2: prediction.tool_calls[0].function.name must be a non-empty string"},
                {row(turn("\"a\""), turn("null", call("x", "f", "[1]"))),
                        "line 2: the expected call of f has arguments that are not a JSON object: [1]"},
                {"{\"prediction\": \"a\", \"reference\": \"b\"}", "line 2: no object field 'prediction'"}};
        for (String[] c : cases) {
            Files.write(dir.resolve("preds.jsonl"), List.of(ok, c[0]));
            CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "-p", dir.resolve("preds.jsonl").toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains(dir.resolve("preds.jsonl") + " " + c[1]), r.err());
        }
    }

    /** Bad conversation rows are named by their line before anything loads: the model folder here does not exist. */
    @Test
    void badConversationRowsAreNamedByLineBeforeTheModelLoads() throws Exception {
        String[][] cases = {
                {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
                        "line 2: the last message is a user turn, not the expected assistant turn"},
                {"{\"messages\": [{\"role\": \"assistant\", \"content\": \"Hi\"}]}",
                        "line 2: the conversation is only the expected assistant turn"},
                {"{\"instruction\": \"Hi\", \"output\": \"Yo\"}", "line 2: not a conversation (fields [instruction, output])"},
                {"{\"messages\": [{\"role\": \"robot\", \"content\": \"Hi\"}]}", "line 2: turn 0 has the role 'robot'; use system/developer, user/human, assistant/gpt/model or tool"},
                {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": null, "
                        + "\"tool_calls\": [" + call("x", "f", "not json") + "]}]}",
                        "line 2: the expected call of f has arguments that are not a JSON object: not json"}};
        for (String[] c : cases) {
            Files.write(dir.resolve("held-out.jsonl"), List.of(CONVERSATIONS.getFirst(), c[0]));
            CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "-m", dir.resolve("no-model").toString(),
                    "-d", dir.resolve("held-out.jsonl").toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains(dir.resolve("held-out.jsonl") + " " + c[1]) && !r.err().contains("model folder"),
                    r.err());
        }
    }

    @Test
    void optionsOfTheOtherModeAreRefused() throws Exception {
        Files.write(dir.resolve("preds.jsonl"), List.of(row(turn("\"a\""), turn("\"b\""))));
        String preds = dir.resolve("preds.jsonl").toString();
        String[][] cases = {
                {"--tool-calls", "-p", preds, "--bleu-tokenize", "zh", "--cjk"},
                {"--tool-calls", "-p", preds, "--tool-call-parser", "hermes"},
                {"-p", preds, "--tool-call-parser", "hermes"},
                {"--tool-calls", "-m", "model", "-d", preds, "--prompt-field", "q"},
                {"--tool-calls", "-m", "model", "-d", preds, "--tool-call-parser", "pythonic"}};
        String[] said = {"--tool-calls --predictions does not use --bleu-tokenize, --cjk; remove them",
                "--tool-calls --predictions does not use --tool-call-parser; remove it",
                "--tool-call-parser is for --tool-calls --model only; add --tool-calls or remove it",
                "--tool-calls does not use --prompt-field; remove it",
                "--tool-call-parser: unknown tool call format 'pythonic'; use one of [hermes, llama3_json, mistral], or auto"};
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("eval"));
            args.addAll(List.of(cases[i]));
            CliTestSupport.Run r = CliTestSupport.run(args.toArray(String[]::new));
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertTrue(r.err().contains(said[i]), r.err());
        }
    }

    /** A held-out conversation as the test reads it, independently of the command. */
    private record Conversation(List<ChatMessage> context, List<ToolDefinition> tools, ChatMessage expected) {
    }

    /** {@link #CONVERSATIONS}, written out by hand. */
    private static List<Conversation> heldOut() {
        List<ToolDefinition> weather = List.of(new ToolDefinition("get_weather", "Current weather",
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"));
        ToolCall lyon = new ToolCall("c1", "get_weather", "{\"city\": \"Lyon\"}");
        return List.of(
                new Conversation(List.of(ChatMessage.user("Weather in Paris?")), weather,
                        ChatMessage.assistant(List.of(new ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}")))),
                new Conversation(List.of(ChatMessage.user("Weather in Lyon?"), ChatMessage.assistant(List.of(lyon)),
                        new ChatMessage("tool", "{\"celsius\": 21}", List.of(), "c1")), weather,
                        ChatMessage.assistant("21 °C in Lyon.")),
                new Conversation(List.of(ChatMessage.user("Hi")), List.of(), ChatMessage.assistant("Hello!")));
    }

    /** Qwen's tool tokenizer at tok/, a tiny random model of its vocabulary, and the held-out conversations. */
    private Path toolModel() throws Exception {
        CliTestSupport.qwenToolTokenizer(dir.resolve("tok"));
        Files.write(dir.resolve("held-out.jsonl"), CONVERSATIONS);
        return CliTestSupport.tinyModel(dir.resolve("model"), BaseModelConfig.configJson().put("vocab_size", 272)
                .put("max_position_embeddings", 2048));
    }
}
