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

    @Test
    void numbersInArgumentsKeepTheValueTheModelWrote() {
        String out = "<tool_call>{\"name\": \"pay\", \"arguments\": {\"big\": 1e400, \"exact\": 0.12345678901234567890123, "
                + "\"cents\": 12345678901234567.89, \"round\": 100.0, \"count\": 123456789012345678901234567890, "
                + "\"list\": [-2.50E-3, 7]}}</tool_call>";

        List<ToolCall> calls = ToolCallFormat.HERMES.parse(out).calls();

        // a double would give "Infinity" (a string), 0.12345678901234568 and 1.2345678901234568E16
        assertEquals(1, calls.size());
        assertEquals("{\"big\":1E+400,\"exact\":0.12345678901234567890123,\"cents\":12345678901234567.89,\"round\":100.0,"
                + "\"count\":123456789012345678901234567890,\"list\":[-0.00250,7]}", calls.getFirst().arguments());
        assertEquals("{\"x\":1E+400}", ToolCallFormat.anyFunction().parse("[{\"name\": \"f\", \"parameters\": {\"x\": 1e400}}]")
                .calls().getFirst().arguments());
    }

    @Test
    void aLongCallStreamedInTinyPiecesIsReadInLinearTime() {
        // each piece used to rescan the call from its start: 100k pieces took seconds, growing with the square
        String value = "x\\\"".repeat(PIECES / 3);
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            ToolCallStream stream = ToolCallFormat.HERMES.stream();
            List<ToolCallStream.Piece> out = new ArrayList<>(stream.append("<tool_call>{\"name\": \"echo\", \"arguments\": {\"s\": \""));
            for (int i = 0; i < value.length(); i++) {
                out.addAll(stream.append(value.substring(i, i + 1)));
            }
            out.addAll(stream.append("\"}}</tool_call>"));
            out.addAll(stream.finish());

            assertEquals(1, out.size(), "one call, no content");
            assertEquals("{\"s\":\"" + value + "\"}", ((ToolCallStream.Call) out.getFirst()).call().arguments());
        });
    }

    @Test
    void anUnterminatedCallOfOpeningBracesIsContentAtTheEnd() {
        for (ToolCallFormat format : List.of(ToolCallFormat.HERMES, ToolCallFormat.LLAMA3_JSON, ToolCallFormat.MISTRAL)) {
            String start = format == ToolCallFormat.HERMES ? "<tool_call>" : format == ToolCallFormat.MISTRAL ? "[" : "";
            assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
                ToolCallStream stream = format.stream();
                StringBuilder content = new StringBuilder();
                List<ToolCallStream.Piece> out = new ArrayList<>(stream.append(start + "{"));
                for (int i = 0; i < PIECES; i++) {
                    out.addAll(stream.append(i % 2 == 0 ? "{" : "["));
                }
                out.addAll(stream.finish());
                out.forEach(p -> content.append(((ToolCallStream.Text) p).text()));

                assertEquals(start.length() + 1 + PIECES, content.length(), format.name());
                assertEquals(0, stream.callCount());
            }, format.name());
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
            }
        }
    }
}
