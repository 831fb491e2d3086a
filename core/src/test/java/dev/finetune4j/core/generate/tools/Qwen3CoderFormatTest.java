package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.assertCalls;
import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.characters;
import static dev.finetune4j.core.generate.tools.ToolCallFormatTest.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Qwen3-Coder's and Qwen3.5's XML calls ({@code <tool_call><function=...><parameter=...>}), read whole and streamed
 * (every cut of every output splits as the whole output does), typed by the tools' schemas, and read back from what
 * the real Qwen3.5 template writes for a call.
 */
class Qwen3CoderFormatTest {
    private static final ToolCallFormat XML = ToolCallFormat.QWEN3_CODER;
    /** One parameter of each JSON Schema type, and one that admits null, as a request's tools give them. */
    private static final List<ToolDefinition> TOOLS = List.of(new ToolDefinition("book", "Books a hotel", """
            {"type": "object", "properties": {"city": {"type": "string"}, "nights": {"type": "integer"},
             "budget": {"type": "number"}, "refundable": {"type": "boolean"}, "guests": {"type": "array"},
             "options": {"type": "object"}, "promo": {"type": ["string", "null"]},
             "note": {"anyOf": [{"type": "null"}, {"type": "integer"}]}, "text": {"type": "string"}}}"""));

    @Test
    void readsSeveralCallsAfterTextWithoutTheNewlinesAroundEachValue() {
        String out = "Let me check both.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
                + "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=get_time>\n"
                + "<parameter=zone>\n\nAsia/Tokyo \n\n</parameter>\n</function>\n</tool_call>";

        ParsedToolCalls parsed = XML.parse(out);

        assertEquals("Let me check both.\n\n", parsed.content());
        // untyped (no tools): strings; only one newline comes off each end
        assertCalls(parsed, "get_weather", "{\"city\":\"Paris\",\"days\":\"3\"}", "get_time", "{\"zone\":\"\\nAsia/Tokyo \\n\"}");
        parsed.calls().forEach(c -> assertTrue(c.id().matches("call_[A-Za-z0-9]{24}"), c.id()));
    }

    @Test
    void valuesAreTypedByTheToolsSchemas() {
        String out = call("book", "city", "007", "nights", "3", "budget", "812.50", "refundable", "True",
                "guests", "[{\"name\": \"Ann\",\n \"age\": 31}]", "options", " {\"breakfast\": false} ", "promo", "None",
                "note", "null", "text", "  two\nlines  ");

        ParsedToolCalls typed = XML.withTools(TOOLS).parse(out);

        // a string stays as written, numbers as written (not through a double), Python's True and None as JSON
        assertCalls(typed, "book", "{\"city\":\"007\",\"nights\":3,\"budget\":812.50,\"refundable\":true,"
                + "\"guests\":[{\"name\":\"Ann\",\"age\":31}],\"options\":{\"breakfast\":false},\"promo\":null,"
                + "\"note\":null,\"text\":\"  two\\nlines  \"}");
        assertCalls(XML.parse(out), "book", "{\"city\":\"007\",\"nights\":\"3\",\"budget\":\"812.50\",\"refundable\":\"True\","
                + "\"guests\":\"[{\\\"name\\\": \\\"Ann\\\",\\n \\\"age\\\": 31}]\",\"options\":\" {\\\"breakfast\\\": false} \","
                + "\"promo\":\"None\",\"note\":\"null\",\"text\":\"  two\\nlines  \"}");
    }

    @Test
    void aValueThatIsNotItsTypeStaysTheStringTheModelWrote() {
        String out = call("book", "nights", "three", "budget", "1e400", "refundable", "yes", "guests", "[1, 2",
                "options", "{'a': 1}", "city", "null", "extra", "42");

        // 1e400 is a JSON number (kept as written); "null" for a string that admits no null is the text; an
        // undeclared parameter is a string
        assertCalls(XML.withTools(TOOLS).parse(out), "book", "{\"nights\":\"three\",\"budget\":1e400,\"refundable\":\"yes\","
                + "\"guests\":\"[1, 2\",\"options\":\"{'a': 1}\",\"city\":\"null\",\"extra\":\"42\"}");
        assertCalls(XML.withTools(TOOLS).parse(call("unknown", "nights", "3")), "unknown", "{\"nights\":\"3\"}");
    }

    @Test
    void aCallWithoutParametersHasAnEmptyObject() {
        assertCalls(XML.parse("<tool_call>\n<function=get_time>\n</function>\n</tool_call>"), "get_time", "{}");
    }

    @Test
    void markersInsideAValueAreText() {
        // all but a parameter tag opening a line, which says the value's closing tag was left out
        String out = call("write", "code", "<tool_call>\n<function=x>\nx = '<parameter=y>'\n</function>\n</tool_call>");
        assertCalls(XML.parse(out), "write",
                "{\"code\":\"<tool_call>\\n<function=x>\\nx = '<parameter=y>'\\n</function>\\n</tool_call>\"}");
    }

    @Test
    void malformedCallsAreContentFromThereOn() {
        List<String> malformed = List.of(
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</tool_call>",            // no </function>
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n</function>\n</tool_call>",             // no </parameter>
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n<parameter=b>\n2\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n<parameter=a>\n2\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\nsome text\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n<parameter=>\n1\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n</function>\ntext\n</tool_call>",
                "<tool_call>\n<function=>\n</function>\n</tool_call>",
                "<tool_call>\n<function=get weather>\n</function>\n</tool_call>",
                "<tool_call>\n<function=" + "f".repeat(65) + ">\n</function>\n</tool_call>",
                "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
        for (String out : malformed) {
            ParsedToolCalls parsed = XML.parse("Sure. " + out);
            assertEquals("Sure. " + out, parsed.content(), out);
            assertEquals(List.of(), parsed.calls(), out);
        }
        assertCalls(XML.parse("<tool_call>\n<function=" + "f".repeat(64) + ">\n</function>\n</tool_call>"), "f".repeat(64), "{}");
        String afterACall = call("f") + "\nDone, and <tool_call>\n<function=g>";
        ParsedToolCalls parsed = XML.parse(afterACall);
        assertEquals("\nDone, and <tool_call>\n<function=g>", parsed.content(), "as in Hermes: text after the calls");
        assertCalls(parsed, "f", "{}");
    }

    @Test
    void aStreamCutAnywhereSplitsAsTheWholeOutput() {
        List<String> outputs = List.of(
                "Checking.\n\n" + call("book", "city", "Paris", "nights", "3", "options", "{\"a\": \"</parameter>\"}")
                        + "\n" + call("get_time"),
                call("book", "guests", "[1, 2]") + " trailing text",
                "<tool_c is a tag <tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n<parameter=a>\n2\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n<parameter=a>\n1\n<parameter=b>\n2\n</parameter>\n</function>\n</tool_call>",
                "<tool_call>\n<function=f>\n<parameter=a>\nunfinished");
        ToolCallFormat typed = XML.withTools(TOOLS);
        for (String out : outputs) {
            ParsedToolCalls whole = typed.parse(out);
            for (int cut = 0; cut <= out.length(); cut++) {
                assertEquals(shape(whole), shape(StreamedCalls.read(typed, out.substring(0, cut), out.substring(cut)).parsed()),
                        "cut at " + cut + " of " + out);
            }
            assertEquals(shape(whole), shape(StreamedCalls.read(typed, characters(out)).parsed()), out);
        }
    }

    @Test
    void aStreamAnnouncesTheCallThenSendsItsArgumentsAParameterAtATime() {
        String out = "Ok.\n\n" + call("book", "city", "Paris", "nights", "3");

        StreamedCalls read = StreamedCalls.read(XML.withTools(TOOLS), characters(out));

        assertEquals(List.of("book"), read.announcedNames());
        assertEquals(List.of(List.of("{", "\"city\":\"Paris\"", ",\"nights\":3", "}")), read.argumentPieces);
        assertEquals("Ok.\n\n", read.parsed().content());
        // nothing of the call was content: every text piece came before the announcement
        int start = read.pieces.indexOf(read.pieces.stream().filter(p -> p instanceof ToolCallStream.CallStart).findFirst().orElseThrow());
        assertTrue(read.pieces.subList(start, read.pieces.size()).stream().noneMatch(p -> p instanceof ToolCallStream.Text));
    }

    @Test
    void aCallThatBreaksAfterItsAnnouncementIsContentAsInTheWholeAnswer() {
        String out = "<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\nand then text";
        StreamedCalls read = StreamedCalls.read(XML, characters(out));
        assertEquals(List.of("f"), read.announcedNames());
        assertEquals(List.of("{", "\"a\":\"1\""), read.argumentPieces.getFirst(), "the closing piece waits for the completion");
        assertEquals(out, read.parsed().content());
        assertEquals(List.of(), read.parsed().calls());
    }

    /** What the real Qwen3.5 template writes for an assistant turn with calls reads back as those calls. */
    @Test
    void theTemplatesOwnRenderingOfCallsReadsBack() throws IOException {
        JinjaChatTemplate template = template("qwen3.5-4b.jinja");
        ToolCall book = new ToolCall("c1", "book", "{\"city\":\"Paris\",\"nights\":3,\"budget\":812.5,\"refundable\":true,"
                + "\"guests\":[{\"name\":\"Ann\"}],\"options\":{\"breakfast\":false},\"promo\":null,\"text\":\"two\\nlines\"}");
        ToolCall time = new ToolCall("c2", "get_time", "{}");
        ChatMessage user = ChatMessage.user("Book it.");
        ChatMessage turn = new ChatMessage("assistant", "I'll book it.", List.of(book, time), null, null);
        String before = template.render(List.of(user), TOOLS, false);
        String rendered = template.render(List.of(user, turn), TOOLS, false);
        String opening = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
        String closing = "<|im_end|>\n";
        String turnText = rendered.substring(before.length());
        assertTrue(turnText.startsWith(opening) && turnText.endsWith(closing), turnText);
        String answer = turnText.substring(opening.length(), turnText.length() - closing.length());

        ParsedToolCalls parsed = XML.withTools(TOOLS).parse(answer);

        assertEquals("I'll book it.\n\n", parsed.content());
        assertCalls(parsed, "book", book.arguments(), "get_time", "{}");
    }

    @Test
    void onlyThisFormatTakesTheToolsSchemasAndTrailingWhitespaceIsNoContent() {
        assertEquals("qwen3_coder", XML.name());
        assertEquals(ToolCallFormat.HERMES, ToolCallFormat.HERMES.withTools(TOOLS), "JSON formats need no schemas");
        assertEquals(XML.name(), XML.withTools(TOOLS).name());
        assertNull(XML.parse("<tool_call>\n<function=f>\n</function>\n</tool_call>  \n").content());
    }

    /** A call as the template writes it: each parameter's text between newlines. */
    private static String call(String function, String... keyThenText) {
        StringBuilder out = new StringBuilder("<tool_call>\n<function=" + function + ">\n");
        for (int i = 0; i < keyThenText.length; i += 2) {
            out.append("<parameter=").append(keyThenText[i]).append(">\n").append(keyThenText[i + 1]).append("\n</parameter>\n");
        }
        return out.append("</function>\n</tool_call>").toString();
    }

    private static JinjaChatTemplate template(String file) throws IOException {
        try (InputStream in = Qwen3CoderFormatTest.class.getResourceAsStream("/chat-templates/" + file)) {
            return JinjaChatTemplate.parse(file, new String(in.readAllBytes(), StandardCharsets.UTF_8), Map.of());
        }
    }
}
