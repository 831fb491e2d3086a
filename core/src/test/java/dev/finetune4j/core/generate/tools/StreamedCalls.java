package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * An output read through a {@link ToolCallStream} in given pieces, reassembled as a client does, checking on the way
 * what every stream promises: no empty text, indexes counted from 0, each complete call announced before with its id
 * and name, and its argument pieces concatenated equal to its arguments.
 */
final class StreamedCalls {
    /** The pieces released, in order. */
    final List<ToolCallStream.Piece> pieces = new ArrayList<>();
    /** The argument pieces of each announced call, by index. */
    final List<List<String>> argumentPieces = new ArrayList<>();
    private final List<ToolCallStream.CallStart> starts = new ArrayList<>();

    private StreamedCalls() {
    }

    static StreamedCalls read(ToolCallFormat format, String... outputPieces) {
        StreamedCalls read = new StreamedCalls();
        ToolCallStream stream = format.stream();
        for (String piece : outputPieces) {
            read.pieces.addAll(stream.append(piece));
        }
        read.pieces.addAll(stream.finish());
        read.check();
        return read;
    }

    /** The content and the complete calls, as {@link ToolCallFormat#parse} reports them. */
    ParsedToolCalls parsed() {
        StringBuilder content = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (ToolCallStream.Piece p : pieces) {
            if (p instanceof ToolCallStream.Text t) {
                content.append(t.text());
            } else if (p instanceof ToolCallStream.Call c) {
                calls.add(c.call());
            }
        }
        return new ParsedToolCalls(content.toString().isBlank() ? null : content.toString(), calls);
    }

    /** The names of the announced calls, complete or not. */
    List<String> announcedNames() {
        return starts.stream().map(ToolCallStream.CallStart::name).toList();
    }

    private void check() {
        for (ToolCallStream.Piece p : pieces) {
            switch (p) {
                case ToolCallStream.Text t -> assertFalse(t.text().isEmpty(), "empty text");
                case ToolCallStream.CallStart s -> {
                    assertEquals(starts.size(), s.index(), "announcements count from 0");
                    starts.add(s);
                    argumentPieces.add(new ArrayList<>());
                }
                case ToolCallStream.ArgumentsPiece a -> {
                    assertFalse(a.text().isEmpty(), "empty arguments piece");
                    argumentPieces.get(a.index()).add(a.text());
                }
                case ToolCallStream.Call c -> {
                    ToolCallStream.CallStart start = starts.get(c.index());
                    assertEquals(start.id(), c.call().id());
                    assertEquals(start.name(), c.call().name());
                    assertEquals(String.join("", argumentPieces.get(c.index())), c.call().arguments());
                }
            }
        }
    }
}
