package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;

/**
 * One output read in pieces as it is generated: content is released as soon as it cannot be the start of a call
 * (a part of a start marker is held back until the next piece tells, as stop strings are), and each call once its
 * text is complete. {@link ToolCallFormat#parse} reads a whole output the same way, so a streamed and a whole answer
 * split alike.
 *
 * <pre>{@code
 * ToolCallStream calls = ToolCallFormat.HERMES.stream();
 * for (String piece : pieces) {
 *     for (ToolCallStream.Piece p : calls.append(piece)) { ... }   // Text or Call
 * }
 * for (ToolCallStream.Piece p : calls.finish()) { ... }
 * }</pre>
 *
 * <p>Not thread-safe: one per output.
 */
public final class ToolCallStream {
    /** What the stream releases, in order. */
    public sealed interface Piece permits Text, Call {
    }

    /**
     * Content.
     *
     * @param text the text, never empty
     */
    public record Text(String text) implements Piece {
    }

    /**
     * A complete call.
     *
     * @param call the call, with a fresh id
     */
    public record Call(ToolCall call) implements Piece {
    }

    private enum State { SEARCHING, IN_CALLS, PLAIN }

    private final ToolCallFormat format;
    /** SEARCHING: content not yet released; IN_CALLS: the call section from its start; PLAIN: empty. */
    private final StringBuilder held = new StringBuilder();
    private State state = State.SEARCHING;
    private boolean outputStart = true;
    /** IN_CALLS: where the next call may start in {@link #held}. */
    private int at;
    /** IN_CALLS: the scan of the JSON value {@link #held} ends inside, resumed as text arrives; null when none. */
    private JsonSpans.Scan openValue;
    /** IN_CALLS: the length of {@link #held} when a step found it incomplete, ending in whitespace; else -1. */
    private int incompleteAfterWhitespace = -1;
    private int calls;

    ToolCallStream(ToolCallFormat format) {
        this.format = format;
    }

    /**
     * Adds the next piece of the output.
     *
     * @param text the piece
     * @return what became final: content and complete calls, in order; often empty
     */
    public List<Piece> append(String text) {
        held.append(text);
        List<Piece> out = new ArrayList<>();
        advance(out);
        return out;
    }

    /**
     * Ends the output: held content, and an unfinished call's text, are released as content.
     *
     * @return the last pieces
     */
    public List<Piece> finish() {
        List<Piece> out = new ArrayList<>();
        String rest = state == State.IN_CALLS ? held.substring(at) : held.toString();
        // whitespace after complete calls is not content
        if (!rest.isEmpty() && !(state == State.IN_CALLS && at > 0 && rest.isBlank())) {
            out.add(new Text(rest));
        }
        held.setLength(0);
        state = State.PLAIN;
        return out;
    }

    /**
     * How many calls have been released.
     *
     * @return the count
     */
    public int callCount() {
        return calls;
    }

    private void advance(List<Piece> out) {
        while (true) {
            switch (state) {
                case PLAIN -> {
                    release(out, held.length());
                    return;
                }
                case SEARCHING -> {
                    String text = held.toString();
                    int start = format.sectionStart(text, outputStart);
                    if (start < 0) {
                        release(out, format.holdFrom(text, outputStart));
                        return;
                    }
                    release(out, start);
                    state = State.IN_CALLS;
                    at = 0;
                }
                case IN_CALLS -> {
                    // NOTE: stepping again while a value is open would rescan it from its start for every piece
                    if (openValue != null && openValue.resume(held) == JsonSpans.INCOMPLETE) {
                        return;
                    }
                    openValue = null;
                    // likewise for a model that loops on whitespace: more of it leaves the step incomplete
                    if (incompleteAfterWhitespace >= 0
                            && JsonSpans.skipWhitespace(held, incompleteAfterWhitespace) == held.length()) {
                        incompleteAfterWhitespace = held.length();
                        return;
                    }
                    incompleteAfterWhitespace = -1;
                    switch (format.step(held.toString(), at)) {
                        case Step.Incomplete i -> {
                            openValue = i.openValue();
                            boolean endsInWhitespace = !held.isEmpty()
                                    && JsonSpans.skipWhitespace(held, held.length() - 1) == held.length();
                            incompleteAfterWhitespace = openValue == null && endsInWhitespace ? held.length() : -1;
                            return;
                        }
                        case Step.NotACall n -> {
                            held.delete(0, at);
                            state = State.PLAIN;
                        }
                        case Step.Calls c -> {
                            c.calls().forEach(call -> out.add(new Call(call)));
                            calls += c.calls().size();
                            if (c.closesSection()) {
                                held.delete(0, c.end());
                                state = State.PLAIN;
                            } else {
                                at = c.end();
                            }
                        }
                    }
                }
            }
        }
    }

    /** Releases the first {@code n} held characters as content. */
    private void release(List<Piece> out, int n) {
        if (n == 0) {
            return;
        }
        String text = held.substring(0, n);
        held.delete(0, n);
        out.add(new Text(text));
        outputStart &= text.isBlank();
    }
}
