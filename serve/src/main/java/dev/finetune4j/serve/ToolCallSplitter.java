package dev.finetune4j.serve;

import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.generate.tools.ToolCallStream;
import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads each choice's text for tool calls between a {@link GenerationRun} and the response writer: content goes on
 * as text until a call may be starting ({@link ToolCallStream} holds that back), each complete call goes on as a
 * call, and a choice that made calls and stopped by itself finishes with {@link ChoiceFinish#TOOL_CALLS}. The
 * generated tokens (and their log-probabilities) of held text travel with whatever is released next, so every token
 * is reported once. Without parallel calls, calls after a choice's first are dropped (OpenAI's
 * {@code parallel_tool_calls: false} promises at most one).
 *
 * <p>Not thread-safe: used by the handler thread that drains the run.
 */
final class ToolCallSplitter implements GenerationRun.Listener {

    /** What the splitter reports: text and finishes as a run does, and calls. */
    interface Sink extends GenerationRun.Listener {
        /**
         * A complete call.
         *
         * @param choice   the choice's index
         * @param index    the call's position among the choice's calls, from 0
         * @param call     the call, with its id
         * @param tokens   the generated ids not reported before
         * @param logprobs their log-probabilities, when the request asks for them; else empty
         */
        void onToolCall(int choice, int index, ToolCall call, long[] tokens, List<TokenLogprobs> logprobs);
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
                case ToolCallStream.Call c -> {
                    if (parallel || calls[choice] == 0) {
                        sink.onToolCall(choice, calls[choice]++, c.call(), takeTokens(choice), takeLogprobs(choice));
                    }
                }
            }
        }
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
