package dev.finetune4j.serve;

import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.generate.tools.ToolCallStream;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads each choice's text for tool calls between a {@link GenerationRun} and the response writer: content goes on
 * as text until a call may be starting ({@link ToolCallStream} holds that back), each call goes on as its
 * announcement (once its head is read), its argument pieces (as they are generated) and its completion, and a choice
 * that completed calls and stopped by itself finishes with {@link ChoiceFinish#TOOL_CALLS}. The
 * generated tokens (and their log-probabilities) of held text travel with whatever is released next, so every token
 * is reported once. Without parallel calls, calls after a choice's first are dropped (OpenAI's
 * {@code parallel_tool_calls: false} promises at most one).
 *
 * <p>Not thread-safe: used by the handler thread that drains the run.
 */
final class ToolCallSplitter implements ReasoningSplitter.Sink {

    /**
     * What the splitter reports: text, thinking and finishes as a run (behind a {@link ReasoningSplitter}) does, and
     * calls. A call is announced, then its arguments arrive in pieces, then it completes; one that breaks after its
     * announcement never completes, and its text arrives as content ({@link ToolCallStream}).
     */
    interface Sink extends ReasoningSplitter.Sink {
        /**
         * A call's announcement: its arguments follow.
         *
         * @param choice   the choice's index
         * @param index    the call's position among the choice's calls, from 0
         * @param id       the call's id
         * @param name     the function's name
         * @param tokens   the generated ids not reported before
         * @param logprobs their log-probabilities, when the request asks for them; else empty
         */
        void onToolCallStart(int choice, int index, String id, String name, long[] tokens, List<TokenLogprobs> logprobs);

        /**
         * The next piece of an announced call's arguments.
         *
         * @param choice    the choice's index
         * @param index     the call's index
         * @param arguments the piece, never empty
         * @param tokens    the generated ids not reported before
         * @param logprobs  their log-probabilities, when the request asks for them; else empty
         */
        void onToolCallArguments(int choice, int index, String arguments, long[] tokens, List<TokenLogprobs> logprobs);

        /**
         * An announced call is complete; its tokens were reported with its pieces, or go with what comes next.
         *
         * @param choice the choice's index
         * @param index  the call's index
         * @param call   the call: the announced id and name, the pieces' arguments
         */
        void onToolCall(int choice, int index, ToolCall call);
    }

    private final boolean parallel;
    private final Sink sink;
    private final List<ToolCallStream> streams = new ArrayList<>();
    private final int[] calls;
    private final List<List<Long>> heldTokens = new ArrayList<>();
    private final List<List<TokenLogprobs>> heldLogprobs = new ArrayList<>();

    /**
     * @param format      how the model writes calls
     * @param parallel    whether a choice may make more than one call
     * @param choiceCount the run's choices
     * @param sink        where text, calls and finishes go
     */
    ToolCallSplitter(ToolCallFormat format, boolean parallel, int choiceCount, Sink sink) {
        this.parallel = parallel;
        this.sink = sink;
        this.calls = new int[choiceCount];
        for (int i = 0; i < choiceCount; i++) {
            streams.add(format.stream());
            heldTokens.add(new ArrayList<>());
            heldLogprobs.add(new ArrayList<>());
        }
    }

    @Override
    public void onText(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs) {
        for (long t : tokens) {
            heldTokens.get(choice).add(t);
        }
        heldLogprobs.get(choice).addAll(logprobs);
        report(choice, streams.get(choice).append(text));
    }

    /** Thinking comes before any content, so nothing is held: it goes straight on. */
    @Override
    public void onReasoning(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs) {
        sink.onReasoning(choice, text, tokens, logprobs);
    }

    @Override
    public void onFinish(int choice, ChoiceFinish finish) {
        report(choice, streams.get(choice).finish());
        if (!heldTokens.get(choice).isEmpty()) {
            // tokens whose text was a dropped call or trailing whitespace
            sink.onText(choice, "", takeTokens(choice), takeLogprobs(choice));
        }
        sink.onFinish(choice, calls[choice] > 0 && finish == ChoiceFinish.STOP ? ChoiceFinish.TOOL_CALLS : finish);
    }

    private void report(int choice, List<ToolCallStream.Piece> pieces) {
        for (ToolCallStream.Piece piece : pieces) {
            switch (piece) {
                case ToolCallStream.Text t -> sink.onText(choice, t.text(), takeTokens(choice), takeLogprobs(choice));
                case ToolCallStream.CallStart s -> {
                    if (kept(s.index())) {
                        sink.onToolCallStart(choice, s.index(), s.id(), s.name(), takeTokens(choice), takeLogprobs(choice));
                    }
                }
                case ToolCallStream.ArgumentsPiece a -> {
                    if (kept(a.index())) {
                        sink.onToolCallArguments(choice, a.index(), a.text(), takeTokens(choice), takeLogprobs(choice));
                    }
                }
                case ToolCallStream.Call c -> {
                    if (kept(c.index())) {
                        calls[choice]++;
                        sink.onToolCall(choice, c.index(), c.call());
                    }
                }
            }
        }
    }

    /** Whether the call at {@code index} goes out: without parallel calls only the first does. */
    private boolean kept(int index) {
        return parallel || index == 0;
    }

    private long[] takeTokens(int choice) {
        long[] out = heldTokens.get(choice).stream().mapToLong(Long::longValue).toArray();
        heldTokens.get(choice).clear();
        return out;
    }

    private List<TokenLogprobs> takeLogprobs(int choice) {
        List<TokenLogprobs> out = List.copyOf(heldLogprobs.get(choice));
        heldLogprobs.get(choice).clear();
        return out;
    }
}
