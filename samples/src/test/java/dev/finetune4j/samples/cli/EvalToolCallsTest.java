package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
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
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

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

    /** The call the scripted model writes, as one token: no spaces, which byte-level decoding would map. */
    private static final String PARIS_CALL = "{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}";

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
    /**
     * Qwen3.5's XML calls carry their arguments as text: each row's tool schema types them, so that a model answering
     * {@code <parameter=days>3</parameter>} matches a reference of {"days": 3}.
     */
    @Test
    void qwen3CoderAnswersAreTypedByTheirRowsTools() {
        ToolDefinition forecast = new ToolDefinition("forecast", "Weather",
                "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\"}}}");
        ChatMessage expected = new ChatMessage("assistant", "",
                List.of(new ToolCall("call_0", "forecast", "{\"city\": \"Paris\", \"days\": 3}")), null);
        var row = new ToolCallRows.HeldOut(List.of(ChatMessage.user("Weather in Paris for 3 days?")), List.of(forecast),
                expected, 1);
        String answer = "<tool_call>\n<function=forecast>\n<parameter=city>\nParis\n</parameter>\n"
                + "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>";
        Map<String, Object> result = ToolCallEval.ofAnswers(List.of(row), List.of(answer), ToolCallFormat.QWEN3_CODER);
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) result.get("metrics");
        assertEquals(1.0, (double) metrics.get("exact_match"), "metrics " + metrics);
    }

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

    /**
     * A model made to write the Paris call after any prompt ({@link #parisCallingModel}), checked by hand: row 1
     * expected that call (exact), rows 2 and 3 a plain answer (wrong decision). Exact and decision 1/3; names and
     * arguments: 3 calls of one argument given, 1 expected, 1 right: precision 1/3, recall 1. Forced to read Mistral's
     * format, the same answers make no call: exact and decision 2/3, as for empty answers.
     */
    @Test
    void aModelThatAlwaysCallsIsScoredAsCountedByHandAndTheForcedParserIsUsed() throws Exception {
        Path model = parisCallingModel();
        Path out = dir.resolve("metrics.json");
        CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "--model", model.toString(), "--tokenizer",
                dir.resolve("tok").toString(), "--data", dir.resolve("held-out.jsonl").toString(), "--output", out.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode result = new ObjectMapper().readTree(out.toFile());
        JsonNode m = result.get("metrics");
        assertEquals(1 / 3.0, m.get("exact_match").asDouble(), 1e-12, m.toString());
        assertEquals(1 / 3.0, m.get("decision_accuracy").asDouble(), 1e-12);
        assertEquals(1 / 3.0, m.get("name_precision").asDouble(), 1e-12);
        assertEquals(1.0, m.get("name_recall").asDouble(), 1e-12);
        assertEquals(1 / 3.0, m.get("argument_precision").asDouble(), 1e-12);
        assertEquals(1.0, m.get("argument_recall").asDouble(), 1e-12);
        assertEquals(0.5, m.get("argument_f1").asDouble(), 1e-12);
        for (JsonNode p : result.get("predictions")) {
            assertEquals("", p.get("content").asText(), p.toString());
            assertEquals(1, p.get("tool_calls").size(), p.toString());
            JsonNode function = p.get("tool_calls").get(0).get("function");
            assertEquals("get_weather", function.get("name").asText());
            assertEquals(new ObjectMapper().readTree("{\"city\": \"Paris\"}"),
                    new ObjectMapper().readTree(function.get("arguments").asText()));
        }
        Path mistral = dir.resolve("mistral.json");
        r = CliTestSupport.run("eval", "--tool-calls", "--model", model.toString(), "--tokenizer", dir.resolve("tok").toString(),
                "--data", dir.resolve("held-out.jsonl").toString(), "--tool-call-parser", "mistral", "--output", mistral.toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        JsonNode plain = new ObjectMapper().readTree(mistral.toFile());
        assertEquals("mistral", plain.get("tool_call_format").asText());
        assertEquals(2 / 3.0, plain.get("metrics").get("decision_accuracy").asDouble(), 1e-12);
        assertEquals("<tool_call>" + PARIS_CALL + "</tool_call>", plain.get("predictions").get(0).get("content").asText());
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

    /** Qwen's tools system prompt makes rows of several hundred tokens; a model of 384 positions has no room to answer. */
    @Test
    void aPromptThatFillsTheModelsPositionsIsBadInputNamingItsLineBeforeAnswering() throws Exception {
        CliTestSupport.qwenToolTokenizer(dir.resolve("tok"));
        Files.write(dir.resolve("held-out.jsonl"), CONVERSATIONS);
        Path model = CliTestSupport.tinyModel(dir.resolve("model"), BaseModelConfig.configJson().put("vocab_size", 272));
        CliTestSupport.Run r = CliTestSupport.run("eval", "--tool-calls", "--model", model.toString(), "--tokenizer",
                dir.resolve("tok").toString(), "--data", dir.resolve("held-out.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains(dir.resolve("held-out.jsonl") + " line 1: the prompt has ")
                && r.err().contains("tokens, but the model takes at most " + BaseModelConfig.MAX_POSITIONS + " positions")
                && !r.err().contains("answered"), r.err());
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
                {"{\"messages\": [{\"role\": \"robot\", \"content\": \"Hi\"}]}",
                        "line 2: turn 0 has the role 'robot'; use system/developer, user/human, assistant/gpt/model or tool"},
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
                "--tool-call-parser: unknown tool call format 'pythonic'; use one of [hermes, llama3_json, mistral, mistral_v11, granite, qwen3_coder], or auto"};
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

    /**
     * A model over Qwen's tool tokenizer with three more (non-special) tokens, {@code <tool_call>}, the Paris call's
     * JSON and {@code </tool_call>}, whose greedy answer to any chat prompt is those three and then EOS. With the
     * attention and MLP output projections zero, the last hidden state is the current token's embedding, so the
     * logits depend on that token alone; each lm_head row of a chain's next token points along the embedding of the
     * token before it: the generation prompt's last token, then the three, then {@code <|im_end|>}.
     */
    private Path parisCallingModel() throws Exception {
        Path tokDir = CliTestSupport.qwenToolTokenizer(dir.resolve("tok"));
        Files.write(dir.resolve("held-out.jsonl"), CONVERSATIONS);
        ObjectMapper json = new ObjectMapper();
        ObjectNode spec = (ObjectNode) json.readTree(tokDir.resolve("tokenizer.json").toFile());
        ArrayNode added = (ArrayNode) spec.get("added_tokens");
        List<String> contents = List.of("<tool_call>", PARIS_CALL, "</tool_call>");
        for (int i = 0; i < contents.size(); i++) {
            added.addObject().put("id", 270 + i).put("content", contents.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", false);
        }
        json.writeValue(tokDir.resolve("tokenizer.json").toFile(), spec);
        long[] chain = new long[5];
        try (HfTokenizer tok = HfTokenizer.load(tokDir)) {
            assertEquals(273, tok.vocabSize());
            long[] prompt = tok.encode(tok.applyChatTemplate(List.of(ChatMessage.user("Hi")), List.of(), true));
            chain[0] = prompt[prompt.length - 1];
            chain[4] = tok.eosTokenId().getAsLong();
        }
        chain[1] = 270;
        chain[2] = 271;
        chain[3] = 272;
        int hidden = BaseModelConfig.HIDDEN;
        ObjectNode config = BaseModelConfig.configJson().put("vocab_size", 273).put("max_position_embeddings", 2048);
        try (LanguageModel m = AutoModel.newCausalLM(config, TensorScope.detached())) {
            StateDicts.initNormal(m, 0.02, new SplittableRandom(3));
            Map<String, Tensor> weights = m.stateDict();
            weights.forEach((name, t) -> {
                if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) {
                    StateDicts.fill(t, () -> 0);
                }
            });
            float[] embedding = weights.get("model.embed_tokens.weight").toFloatArray();
            float[] head = new float[273 * hidden];
            for (int i = 0; i + 1 < chain.length; i++) {
                int from = Math.toIntExact(chain[i]) * hidden;
                double norm = 0;
                for (int k = 0; k < hidden; k++) {
                    norm += embedding[from + k] * embedding[from + k];
                }
                for (int k = 0; k < hidden; k++) {
                    head[Math.toIntExact(chain[i + 1]) * hidden + k] = (float) (10 * embedding[from + k] / Math.sqrt(norm));
                }
            }
            weights.get("lm_head.weight").copyFrom(head);
            HfModelFolder.save(m, config, null, dir.resolve("model"));
        }
        return dir.resolve("model");
    }

    /** Qwen's tool tokenizer at tok/, a tiny random model of its vocabulary, and the held-out conversations. */
    private Path toolModel() throws Exception {
        CliTestSupport.qwenToolTokenizer(dir.resolve("tok"));
        Files.write(dir.resolve("held-out.jsonl"), CONVERSATIONS);
        return CliTestSupport.tinyModel(dir.resolve("model"), BaseModelConfig.configJson().put("vocab_size", 272)
                .put("max_position_embeddings", 2048));
    }
}
