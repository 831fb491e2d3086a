package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Model outputs an attacker (or a looping model) could write: calls streamed in 100k pieces, unterminated calls,
 * numbers a double cannot hold, escapes cut between pieces.
 */
class HostileToolOutputTest {
    private static final int PIECES = 100_000;
    /** Linear reading takes well under a second, warm-up included; the quadratic one took 9 s to 70 s. */
    private static final Duration LINEAR_BOUND = Duration.ofSeconds(5);

    @Test
    void numbersInArgumentsKeepTheValueTheModelWrote() {
        String out = "<tool_call>{\"name\": \"pay\", \"arguments\": {\"big\": 1e400, \"exact\": 0.12345678901234567890123, "
                + "\"cents\": 12345678901234567.89, \"round\": 100.0, \"count\": 123456789012345678901234567890, "
                + "\"list\": [-2.50E-3, 7]}}</tool_call>";

        List<ToolCall> calls = ToolCallFormat.HERMES.parse(out).calls();

        // the arguments are the text as written, less whitespace: a double would give "Infinity" (a string),
        // 0.12345678901234568 and 1.2345678901234568E16
        assertEquals(1, calls.size());
        assertEquals("{\"big\":1e400,\"exact\":0.12345678901234567890123,\"cents\":12345678901234567.89,\"round\":100.0,"
                + "\"count\":123456789012345678901234567890,\"list\":[-2.50E-3,7]}", calls.getFirst().arguments());
        assertEquals("{\"x\":1e400}", ToolCallFormat.anyFunction().parse("[{\"name\": \"f\", \"parameters\": {\"x\": 1e400}}]")
                .calls().getFirst().arguments());
    }

    @Test
    void aLongCallStreamedInTinyPiecesIsReadInLinearTime() {
        // each piece used to rescan the call from its start: 100k pieces took seconds, growing with the square
        String value = "x\\\"".repeat(PIECES / 3);
        assertTimeoutPreemptively(LINEAR_BOUND, () -> {
            ToolCallStream stream = ToolCallFormat.HERMES.stream();
            List<ToolCallStream.Piece> out = new ArrayList<>(stream.append("<tool_call>{\"name\": \"echo\", \"arguments\": {\"s\": \""));
            for (int i = 0; i < value.length(); i++) {
                out.addAll(stream.append(value.substring(i, i + 1)));
            }
            out.addAll(stream.append("\"}}</tool_call>"));
            out.addAll(stream.finish());

            List<ToolCallStream.Call> calls = out.stream().filter(p -> p instanceof ToolCallStream.Call)
                    .map(p -> (ToolCallStream.Call) p).toList();
            assertEquals(1, calls.size(), "one call");
            assertEquals(0, out.stream().filter(p -> p instanceof ToolCallStream.Text).count(), "no content");
            assertEquals("{\"s\":\"" + value + "\"}", calls.getFirst().call().arguments());
        });
    }

    @Test
    void aLongXmlParameterStreamedInTinyPiecesIsReadInLinearTime() {
        // the value is read on from where the last piece stopped; only a possible closing tag's start is read again
        String value = "</paramete<\n".repeat(PIECES / 12);
        assertTimeoutPreemptively(LINEAR_BOUND, () -> {
            ToolCallStream stream = ToolCallFormat.QWEN3_CODER.stream();
            List<ToolCallStream.Piece> out = new ArrayList<>(stream.append("<tool_call>\n<function=echo>\n<parameter=s>\n"));
            for (int i = 0; i < value.length(); i++) {
                out.addAll(stream.append(value.substring(i, i + 1)));
            }
            out.addAll(stream.append("\n</parameter>\n</function>\n</tool_call>"));
            out.addAll(stream.finish());

            List<ToolCallStream.Call> calls = out.stream().filter(p -> p instanceof ToolCallStream.Call)
                    .map(p -> (ToolCallStream.Call) p).toList();
            assertEquals(1, calls.size(), "one call");
            assertEquals(0, out.stream().filter(p -> p instanceof ToolCallStream.Text).count(), "no content");
            assertEquals("{\"s\":\"" + value.replace("\n", "\\n") + "\"}", calls.getFirst().call().arguments());
        });
    }

    @Test
    void anUnterminatedCallOfOpeningBracesIsContentAtTheEnd() {
        for (ToolCallFormat format : List.of(ToolCallFormat.HERMES, ToolCallFormat.LLAMA3_JSON, ToolCallFormat.MISTRAL)) {
            String start = format == ToolCallFormat.HERMES ? "<tool_call>" : format == ToolCallFormat.MISTRAL ? "[" : "";
            assertTimeoutPreemptively(LINEAR_BOUND, () -> {
                ToolCallStream stream = format.stream();
                StringBuilder content = new StringBuilder();
                List<ToolCallStream.Piece> out = new ArrayList<>(stream.append(start + "{"));
                for (int i = 0; i < PIECES; i++) {
                    out.addAll(stream.append(i % 2 == 0 ? "{" : "["));
                }
                out.addAll(stream.finish());
                out.forEach(p -> content.append(((ToolCallStream.Text) p).text())); // a call without a name is never announced

                assertEquals(start.length() + 1 + PIECES, content.length(), format.name());
                assertEquals(0, stream.callCount());
            }, format.name());
        }
    }

    @Test
    void aModelLoopingOnWhitespaceIsReadInLinearTime() {
        // each piece used to rescan the held whitespace: 100k newlines took 30 s to 70 s depending on the format
        String blank = "\n".repeat(PIECES);
        List<ToolCallFormat> formats = List.of(ToolCallFormat.HERMES, ToolCallFormat.LLAMA3_JSON, ToolCallFormat.MISTRAL,
                ToolCallFormat.QWEN3_CODER);
        List<String> calls = List.of("<tool_call>{\"name\": \"f\"}</tool_call>", "{\"name\": \"f\"}", "[{\"name\": \"f\"}]",
                "<tool_call><function=f></function></tool_call>");
        for (int f = 0; f < formats.size(); f++) {
            ToolCallFormat format = formats.get(f);
            String call = calls.get(f);
            assertTimeoutPreemptively(LINEAR_BOUND, () -> {
                // before the call (where Llama 3 and Mistral may still open one), then after it
                for (String out : List.of(blank + call, call + blank, "<tool_call>" + blank + "{\"name\": \"f\"}" + blank
                        + "</tool_call>")) {
                    ToolCallStream stream = format.stream();
                    List<ToolCallStream.Piece> pieces = new ArrayList<>();
                    for (int i = 0; i < out.length(); i++) {
                        pieces.addAll(stream.append(out.substring(i, i + 1)));
                    }
                    pieces.addAll(stream.finish());

                    ParsedToolCalls whole = format.parse(out);
                    StringBuilder content = new StringBuilder();
                    pieces.stream().filter(p -> p instanceof ToolCallStream.Text)
                            .forEach(p -> content.append(((ToolCallStream.Text) p).text()));
                    assertEquals(whole.calls().size(), stream.callCount(), format.name());
                    assertEquals(String.valueOf(whole.content()), content.toString().isBlank() ? "null" : content.toString(),
                            format.name());
                }
            }, format.name());
            assertEquals(1, format.parse(blank + call).calls().size(), format.name());
            assertEquals(1, format.parse(call + blank).calls().size(), format.name());
        }
    }

    @Test
    void escapesCutBetweenPiecesStreamAsTheWholeOutputReads() {
        String out = "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"a \\\" } \\\\ ] \\\\\\\" {\"}}</tool_call> "
                + "<tool_call>{\"name\": \"g\", \"arguments\": {\"t\": [\"]\", {\"u\": \"}\"}]}}</tool_call>";
        ParsedToolCalls whole = ToolCallFormat.HERMES.parse(out);
        assertEquals(List.of("f {\"s\":\"a \\\" } \\\\ ] \\\\\\\" {\"}", "g {\"t\":[\"]\",{\"u\":\"}\"}]}"),
                whole.calls().stream().map(c -> c.name() + " " + c.arguments()).toList());

        ToolCallStream stream = ToolCallFormat.HERMES.stream();
        List<String> streamed = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < out.length(); i++) {
            collect(stream.append(out.substring(i, i + 1)), streamed, content);
        }
        collect(stream.finish(), streamed, content);

        assertEquals(whole.calls().stream().map(c -> c.name() + " " + c.arguments()).toList(), streamed);
        assertEquals("", content.toString(), "whitespace between calls is not content");
    }

    private static void collect(List<ToolCallStream.Piece> pieces, List<String> calls, StringBuilder content) {
        for (ToolCallStream.Piece p : pieces) {
            switch (p) {
                case ToolCallStream.Text t -> content.append(t.text());
                case ToolCallStream.Call c -> calls.add(c.call().name() + " " + c.call().arguments());
                case ToolCallStream.CallStart s -> { }
                case ToolCallStream.ArgumentsPiece a -> { }
            }
        }
    }
}
