package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import dev.finetune4j.core.tokenizer.ToolCall;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each model format read from hand-written outputs: several calls, text before, malformed JSON, nested braces and
 * strings that contain the markers; a streamed output, cut at every character, splits as the whole one does.
 */
class ToolCallFormatTest {

    @Test
    void hermesReadsSeveralBlocksAfterText() {
        String out = "Let me check both.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>";

        ParsedToolCalls parsed = ToolCallFormat.HERMES.parse(out);

        assertEquals("Let me check both.\n", parsed.content());
        assertCalls(parsed, "get_weather", "{\"city\":\"Paris\"}", "get_time", "{\"zone\":\"CET\"}");
        parsed.calls().forEach(c -> assertTrue(c.id().matches("call_[A-Za-z0-9]{24}"), c.id()));
        assertTrue(!parsed.calls().get(0).id().equals(parsed.calls().get(1).id()));
    }

    @Test
    void hermesKeepsBracesAndMarkersInsideStrings() {
        String out = "<tool_call>{\"name\": \"echo\", \"arguments\": {\"text\": \"a } b </tool_call> \\\" { [\", "
                + "\"nested\": {\"deep\": [1, {\"x\": \"]\"}]}}}</tool_call>";

        ParsedToolCalls parsed = ToolCallFormat.HERMES.parse(out);

        assertNull(parsed.content());
        assertCalls(parsed, "echo", "{\"text\":\"a } b </tool_call> \\\" { [\",\"nested\":{\"deep\":[1,{\"x\":\"]\"}]}}");
    }

    @Test
    void malformedHermesCallJsonIsContent() {
        String out = "Sure. <tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1,}}</tool_call>";

        ParsedToolCalls parsed = ToolCallFormat.HERMES.parse(out);

        assertEquals(out, parsed.content());
        assertEquals(List.of(), parsed.calls());
    }

    @Test
    void aCallWithoutANameOrWithoutItsCloseIsContent() {
        String nameless = "<tool_call>{\"arguments\": {}}</tool_call>";
        String unclosed = "<tool_call>{\"name\": \"f\", \"arguments\": {}}";
        assertEquals(nameless, ToolCallFormat.HERMES.parse(nameless).content());
        assertEquals(unclosed, ToolCallFormat.HERMES.parse(unclosed).content());
    }

    @Test
    void textAfterTheCallsIsContentAfterTheTextBefore() {
        String out = "A<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\nB <tool_call>{\"name\": \"g\"}</tool_call>";

        ParsedToolCalls parsed = ToolCallFormat.HERMES.parse(out);

        assertEquals("A\nB <tool_call>{\"name\": \"g\"}</tool_call>", parsed.content());
        assertCalls(parsed, "f", "{}");
    }

    @Test
    void plainTextHasNoCalls() {
        ParsedToolCalls parsed = ToolCallFormat.HERMES.parse("a < b, and <tool is not a call");
        assertEquals("a < b, and <tool is not a call", parsed.content());
        assertEquals(List.of(), parsed.calls());
    }

    @Test
    void llamaReadsParametersAfterThePythonTagAndSeveralCallsAfterSemicolons() {
        String out = "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; "
                + "{\"name\": \"get_time\", \"parameters\": {\"nested\": {\"a\": \"{;}\"}}}";

        ParsedToolCalls parsed = ToolCallFormat.LLAMA3_JSON.parse(out);

        assertNull(parsed.content());
        assertCalls(parsed, "get_weather", "{\"city\":\"Paris\"}", "get_time", "{\"nested\":{\"a\":\"{;}\"}}");
    }

    @Test
    void llamaReadsACallOnlyAtTheStartOfTheAnswer() {
        String bare = "  {\"name\": \"f\", \"parameters\": {\"x\": 1}}";
        String late = "Here: {\"name\": \"f\", \"parameters\": {\"x\": 1}}";

        assertCalls(ToolCallFormat.LLAMA3_JSON.parse(bare), "f", "{\"x\":1}");
        assertEquals(late, ToolCallFormat.LLAMA3_JSON.parse(late).content());
        assertEquals(List.of(), ToolCallFormat.LLAMA3_JSON.parse(late).calls());
    }

    @Test
    void llamaJsonThatIsNotACallIsContent() {
        String out = "{\"answer\": 42}";
        assertEquals(out, ToolCallFormat.LLAMA3_JSON.parse(out).content());
        String broken = "{\"name\": \"f\", \"parameters\": [1, 2]}";
        assertEquals(broken, ToolCallFormat.LLAMA3_JSON.parse(broken).content());
    }

    @Test
    void mistralReadsTheArrayAfterTheMarkerWithNineCharacterIds() {
        String out = "Checking.[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"[TOOL_CALLS]\"}}, "
                + "{\"name\": \"get_time\", \"arguments\": {}}]";

        ParsedToolCalls parsed = ToolCallFormat.MISTRAL.parse(out);

        assertEquals("Checking.", parsed.content());
        assertCalls(parsed, "get_weather", "{\"city\":\"[TOOL_CALLS]\"}", "get_time", "{}");
        parsed.calls().forEach(c -> assertTrue(c.id().matches("[A-Za-z0-9]{9}"), c.id()));
    }

    @Test
    void mistralReadsABareArrayAtTheStartSinceDecodingDropsTheMarker() {
        assertCalls(ToolCallFormat.MISTRAL.parse("[{\"name\": \"f\", \"arguments\": {\"a\": [1]}}]"), "f", "{\"a\":[1]}");
        String list = "[1] is a footnote";
        assertEquals(list, ToolCallFormat.MISTRAL.parse(list).content());
    }

    /**
     * Granite 3's {@code <|tool_call|>} array, read as Mistral's (after text, or bare at the start since decoding drops
     * the special token), with OpenAI-style ids; a stream cut anywhere, the marker split included, splits alike.
     */
    @Test
    void graniteReadsTheArrayAfterItsMarker() {
        String out = "Let me check.<|tool_call|>[{\"arguments\": {\"city\": \"Paris\"}, \"name\": \"get_weather\"}, "
                + "{\"name\": \"get_time\", \"arguments\": {}}]";
        ParsedToolCalls parsed = ToolCallFormat.GRANITE.parse(out);
        assertEquals("Let me check.", parsed.content());
        assertCalls(parsed, "get_weather", "{\"city\":\"Paris\"}", "get_time", "{}");
        parsed.calls().forEach(c -> assertTrue(c.id().startsWith("call_"), c.id()));
        assertCalls(ToolCallFormat.GRANITE.parse("[{\"name\": \"f\", \"arguments\": {}}]"), "f", "{}");
        String mistralMarker = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]";
        assertEquals(mistralMarker, ToolCallFormat.GRANITE.parse(mistralMarker).content(), "another format's marker is text");
        for (int cut = 0; cut <= out.length(); cut++) {
            assertEquals(shape(parsed), shape(streamed(ToolCallFormat.GRANITE, out.substring(0, cut), out.substring(cut))),
                    "cut at " + cut);
        }
    }

    @Test
    void aMalformedMistralArrayIsContentWhole() {
        String out = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, {\"arguments\": {}}]";
        ParsedToolCalls parsed = ToolCallFormat.MISTRAL.parse(out);
        assertEquals(out, parsed.content());
        assertEquals(List.of(), parsed.calls());
    }

    @Test
    void forcedOutputsReadAsCalls() {
        ParsedToolCalls named = ToolCallFormat.function("get_weather").parse("{\"city\": \"Paris\"}");
        assertNull(named.content());
        assertEquals(List.of(new ToolCall(named.calls().getFirst().id(), "get_weather", "{\"city\":\"Paris\"}")), named.calls());

        ParsedToolCalls required = ToolCallFormat.anyFunction().parse("[{\"name\": \"a\", \"parameters\": {\"x\": 1}}, "
                + "{\"name\": \"b\", \"parameters\": {}}]");
        assertCalls(required, "a", "{\"x\":1}", "b", "{}");

        String cut = "{\"city\": \"Par";
        assertEquals(cut, ToolCallFormat.function("get_weather").parse(cut).content());
    }

    @Test
    void aStreamCutAnywhereSplitsAsTheWholeOutput() {
        List<String> outputs = List.of(
                "Let me see <tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": \"</tool_call>\"}}\n</tool_call>\n"
                        + "<tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call> bye",
                "<tool_c is a tag <tool_call>",
                "<tool_call>{\"name\": \"f\", \"parameters\": {\"a\": 1}, \"arguments\": {\"a\": 2}}</tool_call>",
                "<tool_call>{\"arguments\": {\"a\": \"}\"}, \"name\": \"f\"}</tool_call>",
                "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>",
                "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1,}}</tool_call> tail");
        for (String out : outputs) {
            ParsedToolCalls whole = ToolCallFormat.HERMES.parse(out);
            for (int cut = 0; cut <= out.length(); cut++) {
                assertEquals(shape(whole), shape(streamed(ToolCallFormat.HERMES, out.substring(0, cut), out.substring(cut))),
                        "cut at " + cut + " of " + out);
            }
            assertEquals(shape(whole), shape(streamed(ToolCallFormat.HERMES, characters(out))), out);
        }
        String llama = "{\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"parameters\": {\"a\": \"b\"}}";
        String mistral = "Ok [TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]";
        for (int cut = 0; cut <= llama.length(); cut++) {
            assertEquals(shape(ToolCallFormat.LLAMA3_JSON.parse(llama)),
                    shape(streamed(ToolCallFormat.LLAMA3_JSON, llama.substring(0, cut), llama.substring(cut))));
        }
        for (int cut = 0; cut <= mistral.length(); cut++) {
            assertEquals(shape(ToolCallFormat.MISTRAL.parse(mistral)),
                    shape(streamed(ToolCallFormat.MISTRAL, mistral.substring(0, cut), mistral.substring(cut))));
        }
    }

    @Test
    void argumentsAreAsWrittenLessTheWhitespaceOutsideStrings() {
        String out = "<tool_call>{\"name\": \"f\", \"arguments\": {\n  \"s\": \"a  b\\u00e9 \\\" }\",\n  \"n\": 1.50, "
                + "\"big\": 12345678901234567890 }}</tool_call>";
        assertCalls(ToolCallFormat.HERMES.parse(out), "f", "{\"s\":\"a  b\\u00e9 \\\" }\",\"n\":1.50,\"big\":12345678901234567890}");
    }

    @Test
    void aKeyGivenTwiceOrArgumentsUnderBothNamesIsNoCall() {
        String twice = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}, \"arguments\": {\"a\": 2}}</tool_call>";
        String both = "<tool_call>{\"name\": \"f\", \"parameters\": {\"a\": 1}, \"arguments\": {\"a\": 2}}</tool_call>";
        assertEquals(twice, ToolCallFormat.HERMES.parse(twice).content());
        assertEquals(both, ToolCallFormat.HERMES.parse(both).content());
    }

    @Test
    void everyFormatStreamsAnnouncementThenArgumentPiecesAsGenerated() {
        Map<ToolCallFormat, String> outputs = Map.of(
                ToolCallFormat.HERMES, "On it.<tool_call>{\"name\": \"run\", \"arguments\": {\"code\": \"print(1)\\nprint(2)\"}}</tool_call>",
                ToolCallFormat.LLAMA3_JSON, "{\"name\": \"run\", \"parameters\": {\"code\": \"print(1)\\nprint(2)\"}}",
                ToolCallFormat.MISTRAL, "[TOOL_CALLS][{\"name\": \"run\", \"arguments\": {\"code\": \"print(1)\\nprint(2)\"}}]",
                ToolCallFormat.MISTRAL_V11, "[TOOL_CALLS]run[ARGS]{\"code\": \"print(1)\\nprint(2)\"}",
                ToolCallFormat.function("run"), "{\"code\": \"print(1)\\nprint(2)\"}",
                ToolCallFormat.anyFunction(), "[{\"name\": \"run\", \"parameters\": {\"code\": \"print(1)\\nprint(2)\"}}]");
        outputs.forEach((format, out) -> {
            StreamedCalls read = StreamedCalls.read(format, characters(out));
            assertCalls(read.parsed(), "run", "{\"code\":\"print(1)\\nprint(2)\"}");
            assertTrue(read.argumentPieces.getFirst().size() > 10, format + ": " + read.argumentPieces);
            assertEquals("{", read.argumentPieces.getFirst().getFirst(), format.name());
            assertEquals(shape(format.parse(out)), shape(read.parsed()), format.name());
        });
    }

    @Test
    void aCallThatBreaksAfterItsAnnouncementIsContentAsInTheWholeAnswer() {
        String bad = "Sure. <tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1,}}</tool_call> ok";
        String cut = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": \"unfinished";
        String laterElement = "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}, {\"arguments\": {}}]";
        for (String out : List.of(bad, cut)) {
            StreamedCalls read = StreamedCalls.read(ToolCallFormat.HERMES, characters(out));
            assertEquals(List.of("f"), read.announcedNames());
            String sent = String.join("", read.argumentPieces.getFirst());
            assertEquals(out == bad ? "{\"a\":1," : "{\"a\":\"unfinished", sent, "the closing piece waits for the completion");
            assertEquals(shape(ToolCallFormat.HERMES.parse(out)), shape(read.parsed()));
            assertEquals(List.of(), read.parsed().calls());
        }
        StreamedCalls read = StreamedCalls.read(ToolCallFormat.MISTRAL, characters(laterElement));
        assertEquals(List.of("f"), read.announcedNames());
        assertEquals(laterElement, read.parsed().content());
    }

    @Test
    void aCallWhoseHeadIsMalformedIsNeverAnnounced() {
        for (String out : List.of("<tool_call>{\"nom\": \"f\", \"arguments\": {}}</tool_call>",
                "<tool_call>not json</tool_call>", "<tool_call>{\"name\": 5, \"arguments\": {}}</tool_call>")) {
            StreamedCalls read = StreamedCalls.read(ToolCallFormat.HERMES, characters(out));
            assertEquals(List.of(), read.announcedNames(), out);
            assertEquals(out, read.parsed().content());
        }
    }

    @Test
    void aCallWithArgumentsBeforeItsNameIsAnnouncedWholeOnceComplete() {
        String out = "<tool_call>{\"arguments\": {\"a\": [1, 2]}, \"name\": \"f\"}</tool_call>";
        StreamedCalls read = StreamedCalls.read(ToolCallFormat.HERMES, characters(out));
        assertEquals(List.of(List.of("{\"a\":[1,2]}")), read.argumentPieces);
        assertCalls(read.parsed(), "f", "{\"a\":[1,2]}");
    }

    @Test
    void aStreamReleasesContentBeforeTheCallAndHoldsAMarkersStart() {
        ToolCallStream stream = ToolCallFormat.HERMES.stream();

        assertEquals(List.of(new ToolCallStream.Text("Hi ")), stream.append("Hi <tool"));
        assertEquals(List.of(), stream.append("_call>{\"name\": \"f\", "));
        List<ToolCallStream.Piece> call = stream.append("\"arguments\": {}}</tool_call>");
        assertEquals(3, call.size());
        String id = ((ToolCallStream.CallStart) call.getFirst()).id();
        assertEquals(List.of(new ToolCallStream.CallStart(0, id, "f"), new ToolCallStream.ArgumentsPiece(0, "{}"),
                new ToolCallStream.Call(0, new ToolCall(id, "f", "{}"))), call);
        assertEquals(List.of(), stream.finish());
        assertEquals(1, stream.callCount());
    }

    @Test
    void theFormatIsToldFromTheChatTemplate() throws IOException {
        assertEquals(Optional.of(ToolCallFormat.HERMES), ToolCallFormat.detect(template("qwen2.5-7b-instruct.jinja")));
        assertEquals(Optional.of(ToolCallFormat.HERMES), ToolCallFormat.detect(template("qwen3-0.6b.jinja")));
        // Qwen3.5's template writes <tool_call> too: <function= tells its XML calls from Hermes' JSON ones
        assertEquals(Optional.of(ToolCallFormat.QWEN3_CODER), ToolCallFormat.detect(template("qwen3.5-4b.jinja")));
        assertEquals(Optional.of(ToolCallFormat.LLAMA3_JSON), ToolCallFormat.detect(template("llama-3.1-8b-instruct.jinja")));
        assertEquals(Optional.of(ToolCallFormat.LLAMA3_JSON), ToolCallFormat.detect(template("llama-3.2-3b-instruct.jinja")));
        assertEquals(Optional.of(ToolCallFormat.MISTRAL), ToolCallFormat.detect(template("mistral-7b-instruct-v0.3.jinja")));
        assertEquals(Optional.of(ToolCallFormat.MISTRAL), ToolCallFormat.detect(template("mistral-nemo-instruct-2407.jinja")));
        assertEquals(Optional.of(ToolCallFormat.GRANITE), ToolCallFormat.detect(template("granite-3.3-2b-instruct.jinja")));
        assertEquals(Optional.of(ToolCallFormat.HERMES), ToolCallFormat.detect(template("granite-4.0.jinja")));
        assertEquals(Optional.of(ToolCallFormat.HERMES), ToolCallFormat.detect(template("smollm3-3b.jinja")));
        assertEquals(Optional.empty(), ToolCallFormat.detect(template("gemma-3.jinja")));
        assertEquals(Optional.empty(), ToolCallFormat.detect(ChatTemplate.CHATML));
    }

    @Test
    void formatsAreNamedAsVllmNamesItsParsers() {
        assertEquals(ToolCallFormat.MISTRAL, ToolCallFormat.named("Mistral"));
        assertEquals("llama3_json", ToolCallFormat.named("llama3_json").name());
        assertEquals(ToolCallFormat.GRANITE, ToolCallFormat.named("granite"));
        assertEquals(ToolCallFormat.QWEN3_CODER, ToolCallFormat.named("Qwen3_Coder"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ToolCallFormat.named("pythonic"));
        assertTrue(e.getMessage().contains("hermes"), e.getMessage());
    }

    private static JinjaChatTemplate template(String file) throws IOException {
        try (InputStream in = ToolCallFormatTest.class.getResourceAsStream("/chat-templates/" + file)) {
            return JinjaChatTemplate.parse(file, new String(in.readAllBytes(), StandardCharsets.UTF_8), Map.of());
        }
    }

    private static ParsedToolCalls streamed(ToolCallFormat format, String... pieces) {
        return StreamedCalls.read(format, pieces).parsed();
    }

    /** The output one character a piece, as a model with single-character tokens writes it. */
    static String[] characters(String out) {
        return out.chars().mapToObj(c -> String.valueOf((char) c)).toArray(String[]::new);
    }

    /** Content and (name, arguments) pairs: ids are random. */
    static List<String> shape(ParsedToolCalls parsed) {
        List<String> out = new ArrayList<>();
        out.add(String.valueOf(parsed.content()));
        parsed.calls().forEach(c -> out.add(c.name() + " " + c.arguments()));
        return out;
    }

    static void assertCalls(ParsedToolCalls parsed, String... nameThenArguments) {
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < nameThenArguments.length; i += 2) {
            expected.add(nameThenArguments[i] + " " + nameThenArguments[i + 1]);
        }
        assertEquals(expected, shape(parsed).subList(1, shape(parsed).size()));
    }
}
