package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;

/**
 * One output read in pieces as it is generated. {@link ToolCallFormat#parse} reads a whole output through the same
 * stream, so a streamed and a whole answer always agree on content and calls.
 *
 * <p>What is released when:
 * <ul>
 *   <li>content as soon as it cannot be the start of a call (a part of a start marker is held back until the next
 *   piece tells, as stop strings are);</li>
 *   <li>a {@link CallStart} (index, id, name) as soon as the call's head is read: its marker, its name and the
 *   opening brace of its arguments (of an XML call, {@code <function=NAME>}); until then the head is held back, so a
 *   call malformed there (not JSON, no name, other text) is content exactly as in a whole answer and nothing of it
 *   was announced;</li>
 *   <li>then {@link ArgumentsPiece}s as the arguments are generated, the whitespace outside strings left out (of an
 *   XML call, a parameter at a time once its closing tag is read): concatenated, they are the complete call's
 *   {@link ToolCall#arguments()}; the piece that closes them goes out with the call's completion, so a call that
 *   never completes never shows closed arguments;</li>
 *   <li>a {@link Call} when the call is complete and well-formed. A call whose head the format cannot read in a
 *   fixed layout (arguments before the name, arguments as a string), or whose object shows no head within its first
 *   4,096 characters, is announced only then, with its arguments in one piece.</li>
 * </ul>
 *
 * <p>A call that breaks after its announcement (arguments that turn out not to be JSON, a missing closing marker, the
 * output ending inside it, a later element of a Mistral array that is no call) cannot be taken back: no {@link Call}
 * follows its start, and its text is content exactly as in a whole answer, which reports no such call.
 *
 * <pre>{@code
 * ToolCallStream calls = ToolCallFormat.HERMES.stream();
 * for (String piece : pieces) {
 *     for (ToolCallStream.Piece p : calls.append(piece)) { ... }   // Text, CallStart, ArgumentsPiece or Call
 * }
 * for (ToolCallStream.Piece p : calls.finish()) { ... }
 * }</pre>
 *
 * <p>Not thread-safe: one per output.
 */
public final class ToolCallStream {
    /** What the stream releases, in order. */
    public sealed interface Piece permits Text, CallStart, ArgumentsPiece, Call {
    }

    /**
     * Content.
     *
     * @param text the text, never empty
     */
    public record Text(String text) implements Piece {
    }

    /**
     * A call's announcement: its arguments follow.
     *
     * @param index the call's position among the output's calls, from 0
     * @param id    the call's id, as its {@link Call} will carry it
     * @param name  the function's name
     */
    public record CallStart(int index, String id, String name) implements Piece {
    }

    /**
     * The next piece of an announced call's arguments.
     *
     * @param index the call's index
     * @param text  the piece, never empty
     */
    public record ArgumentsPiece(int index, String text) implements Piece {
    }

    /**
     * A complete call, announced before by a {@link CallStart} with its index.
     *
     * @param index the call's index
     * @param call  the call; its arguments are its pieces concatenated
     */
    public record Call(int index, ToolCall call) implements Piece {
    }

    private enum State { SEARCHING, IN_CALLS, PLAIN }

    /** An announced call of the current step: where its arguments are read from, and what was sent of them. */
    private static final class Announced {
        final int index;
        final String id;
        final String name;
        final ArgumentsReader arguments;
        /** The next raw character to read in {@link #held}. */
        int next;
        /** How much of {@link #arguments}' text has gone out as pieces. */
        int sent;

        Announced(int index, String id, String name, ArgumentsReader arguments, int next) {
            this.index = index;
            this.id = id;
            this.name = name;
            this.arguments = arguments;
            this.next = next;
        }
    }

    /**
     * How far into an open value a call's head (its name, then its arguments' opening) may lie and still be announced
     * before the value closes. Heads are a few dozen characters; past this, the value is only scanned for its end, so
     * a value that never shows a head (a model writing braces, a call whose name follows its arguments) costs time
     * linear in its length.
     */
    private static final int HEAD_WINDOW = 4096;

    private final ToolCallFormat format;
    /** SEARCHING: content not yet released; IN_CALLS: the call section from its start; PLAIN: empty. */
    private final StringBuilder held = new StringBuilder();
    private State state = State.SEARCHING;
    private boolean outputStart = true;
    /** IN_CALLS: where the next call may start in {@link #held}. */
    private int at;
    /** IN_CALLS: the calls announced since {@link #at}. */
    private final List<Announced> announced = new ArrayList<>();
    /**
     * IN_CALLS: the scan of a JSON value that {@link #held} ends inside and that has shown no call head within
     * {@link #HEAD_WINDOW} characters, resumed as text arrives; null when none.
     */
    private JsonSpans.Scan headlessValue;
    /** IN_CALLS: the length of {@link #held} when a step found it incomplete, ending in whitespace; else -1. */
    private int incompleteAfterWhitespace = -1;
    private int started;
    private int calls;

    ToolCallStream(ToolCallFormat format) {
        this.format = format;
    }

    /**
     * Adds the next piece of the output.
     *
     * @param text the piece
     * @return what became final: content, announcements, argument pieces and complete calls, in order; often empty
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
        announced.clear();
        state = State.PLAIN;
        return out;
    }

    /**
     * How many complete calls have been released.
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
                    if (argumentsOpen()) {
                        sendArguments(out);
                        if (argumentsOpen()) {
                            return; // no call completes before its arguments close: no need to rescan the section
                        }
                    }
                    // NOTE: stepping again while a headless value is open would rescan it for every piece
                    if (headlessValue != null && headlessValue.resume(held) == JsonSpans.INCOMPLETE) {
                        return;
                    }
                    headlessValue = null;
                    // likewise for a model that loops on whitespace: more of it leaves the step incomplete
                    if (incompleteAfterWhitespace >= 0
                            && JsonSpans.skipWhitespace(held, incompleteAfterWhitespace) == held.length()) {
                        incompleteAfterWhitespace = held.length();
                        return;
                    }
                    incompleteAfterWhitespace = -1;
                    String section = held.toString();
                    switch (format.step(section, at)) {
                        case Step.Incomplete i -> {
                            announce(section, out);
                            sendArguments(out);
                            if (announced.isEmpty() && i.openValue() != null && section.length() - at > HEAD_WINDOW) {
                                headlessValue = i.openValue();
                            }
                            boolean endsInWhitespace = !section.isEmpty()
                                    && JsonSpans.skipWhitespace(section, section.length() - 1) == section.length();
                            incompleteAfterWhitespace = i.openValue() == null && endsInWhitespace ? section.length() : -1;
                            return;
                        }
                        case Step.NotACall n -> endCalls();
                        case Step.Calls c -> {
                            List<Piece> done = complete(c.calls());
                            if (done == null) {
                                endCalls();
                            } else {
                                out.addAll(done);
                                announced.clear();
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
    }

    /** Whether an announced call's arguments are still being generated. */
    private boolean argumentsOpen() {
        return !announced.isEmpty() && !announced.getLast().arguments.closed();
    }

    /** Announces the calls whose heads became known (a head can only follow arguments that closed). */
    private void announce(String section, List<Piece> out) {
        List<CallHead> heads = format.heads(section, at);
        for (int k = announced.size(); k < heads.size(); k++) {
            CallHead head = heads.get(k);
            Announced call = new Announced(started++, format.newCallId(), head.name(), format.argumentsReader(head.name()),
                    head.argumentsStart());
            announced.add(call);
            out.add(new CallStart(call.index, call.id, call.name));
        }
    }

    /**
     * Sends what was generated of the announced calls' arguments since the last piece. The piece that closes them waits
     * for the call's completion ({@link #complete}), so streamed arguments only form a whole object for a call that
     * completes.
     */
    private void sendArguments(List<Piece> out) {
        for (Announced call : announced) {
            call.next += call.arguments.feed(held, call.next, held.length());
            if (!call.arguments.closed() && call.arguments.length() > call.sent) {
                out.add(new ArgumentsPiece(call.index, call.arguments.textFrom(call.sent)));
                call.sent = call.arguments.length();
            }
        }
    }

    /**
     * The pieces that complete a step's calls: the rest of each announced call's arguments, and announcement and
     * arguments of the others; null when an announced call is not the one the step read (a name or arguments that
     * changed, as with a key given twice), which then counts as a malformed call.
     */
    private List<Piece> complete(List<ToolCall> stepCalls) {
        List<Piece> out = new ArrayList<>();
        for (int i = 0; i < stepCalls.size(); i++) {
            ToolCall call = stepCalls.get(i);
            if (i < announced.size()) {
                Announced a = announced.get(i);
                a.next += a.arguments.feed(held, a.next, held.length());
                if (!a.name.equals(call.name()) || !a.arguments.text().equals(call.arguments())) {
                    return null;
                }
                if (a.arguments.length() > a.sent) {
                    out.add(new ArgumentsPiece(a.index, a.arguments.textFrom(a.sent)));
                }
                out.add(new Call(a.index, new ToolCall(a.id, call.name(), call.arguments())));
            } else {
                int index = started++;
                out.add(new CallStart(index, call.id(), call.name()));
                out.add(new ArgumentsPiece(index, call.arguments()));
                out.add(new Call(index, call));
            }
        }
        calls += stepCalls.size();
        return out;
    }

    /** The text from {@link #at} is not a call: it and all after it is content. */
    private void endCalls() {
        held.delete(0, at);
        announced.clear();
        state = State.PLAIN;
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
