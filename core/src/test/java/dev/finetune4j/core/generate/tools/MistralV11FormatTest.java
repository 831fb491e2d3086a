package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.assertCalls;
import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.characters;
import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mistral's {@code [TOOL_CALLS]name[ARGS]{...}} calls (tokenizer v11 on), with and without the markers that decoding
 * drops, read whole and streamed: every cut of every output splits as the whole output does.
 */
class MistralV11FormatTest {
    private static final ToolCallFormat V11 = ToolCallFormat.MISTRAL_V11;

    @Test
    void readsSeveralCallsInARowAfterText() {
        String out = "Checking both.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]{\"zone\": \"CET\"}";

        ParsedToolCalls parsed = V11.parse(out);

        assertEquals("Checking both.", parsed.content());
        assertCalls(parsed, "get_weather", "{\"city\":\"Paris\"}", "get_time", "{\"zone\":\"CET\"}");
        parsed.calls().forEach(c -> assertTrue(c.id().matches("[A-Za-z0-9]{9}"), c.id()));
    }

    @Test
    void readsCallsWhoseMarkersDecodingDropped() {
        assertCalls(V11.parse("get_weather{\"city\": \"Paris\"}get_time{}"), "get_weather", "{\"city\":\"Paris\"}", "get_time", "{}");
        assertCalls(V11.parse("[TOOL_CALLS]get_weather{\"city\": \"[ARGS]{\"}"), "get_weather", "{\"city\":\"[ARGS]{\"}");
    }

    @Test
    void textIsNoCall() {
        assertCalls(V11.parse("f".repeat(64) + "{}"), "f".repeat(64), "{}");
        for (String out : List.of("Paris is sunny.", "Hello", "x {\"a\": 1}", "use f{x} here", "[1] is a footnote", "f".repeat(65) + "{}")) {
            ParsedToolCalls parsed = V11.parse(out);
            assertEquals(out, parsed.content());
            assertEquals(List.of(), parsed.calls());
        }
    }

    @Test
    void malformedCallsAreContentFromThereOn() {
        String badJson = "[TOOL_CALLS]f[ARGS]{\"a\": 1,}";
        String noName = "Ok.[TOOL_CALLS][ARGS]{}";
        String noObject = "[TOOL_CALLS]f[ARGS]\"text\"";
        for (String out : List.of(badJson, noObject)) {
            assertEquals(out, V11.parse(out).content());
        }
        assertEquals(noName, V11.parse(noName).content());
        String afterACall = "[TOOL_CALLS]f[ARGS]{}[TOOL_CALLS]g[ARGS]{oops} and text";
        ParsedToolCalls parsed = V11.parse(afterACall);
        assertCalls(parsed, "f", "{}");
        assertEquals("[TOOL_CALLS]g[ARGS]{oops} and text", parsed.content());
    }

    @Test
    void whitespaceAfterTheCallsIsNotContentButTextIs() {
        assertNull(V11.parse("[TOOL_CALLS]f[ARGS]{}\n").content());
        assertEquals("\nDone.", V11.parse("[TOOL_CALLS]f[ARGS]{}\nDone.").content());
    }

    @Test
    void aStreamCutAnywhereSplitsAsTheWholeOutput() {
        List<String> outputs = List.of(
                "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"days\": [1, 2]}[TOOL_CALLS]get_time[ARGS]{}",
                "get_weather{\"city\": \"}{\"}get_time{}\n",
                "[TOOL_CALLS]f[ARGS]{\"a\": 1,} tail",
                "Plain words [TOOL_C and [ARGS] markers",
                "[TOOL_CALLS]f[ARGS]{\"a\": \"cut");
        for (String out : outputs) {
            List<String> whole = shape(V11.parse(out));
            for (int cut = 0; cut <= out.length(); cut++) {
                assertEquals(whole, shape(StreamedCalls.read(V11, out.substring(0, cut), out.substring(cut)).parsed()),
                        "cut at " + cut + " of " + out);
            }
            assertEquals(whole, shape(StreamedCalls.read(V11, characters(out)).parsed()), out);
        }
    }

    @Test
    void aLongFirstWordIsReleasedOnceItCannotBeAName() {
        ToolCallStream stream = V11.stream();
        assertEquals(List.of(), stream.append("a".repeat(64)));
        assertEquals(List.of(new ToolCallStream.Text("a".repeat(65))), stream.append("a"));
    }

    @Test
    void aStreamAnnouncesEachCallAtItsBraceAndSendsItsArgumentsInPieces() {
        StreamedCalls read = StreamedCalls.read(V11, "[TOOL_CALLS]send_email[ARGS]", "{\"to\": \"a@b.c\", ", "\"body\": \"Hi,\\n",
                "see you\"}", "[TOOL_CALLS]noop[ARGS]{}");

        assertEquals(List.of("send_email", "noop"), read.announcedNames());
        assertEquals(List.of(List.of("{\"to\":\"a@b.c\",", "\"body\":\"Hi,\\n", "see you\"}"), List.of("{}")),
                read.argumentPieces);
    }

    @Test
    void isToldFromATemplateThatWritesArgsAndNamedForTheParserFlag() {
        String source = "{%- for m in messages %}{%- if m.tool_calls %}{%- for c in m.tool_calls %}[TOOL_CALLS]"
                + "{{ c.function.name }}[ARGS]{{ c.function.arguments | tojson }}{%- endfor %}{%- endif %}{%- endfor %}";
        assertEquals(Optional.of(V11), ToolCallFormat.detect(JinjaChatTemplate.parse("v11", source, Map.of())));
        assertEquals(V11, ToolCallFormat.named("mistral_v11"));
    }
}
