package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Why a choice ended, in OpenAI's {@code finish_reason} values only ({@code stop}, {@code tool_calls}, {@code length};
 * clients switch on them). The server's time limit ends a request the way {@code max_tokens} and the model's context do: the text is
 * cut by a limit, so it answers {@code length} (as llama.cpp's server answers for its generation time limit) and marks
 * the choice with the extension field {@code "timed_out": true}. Not an error status: the text generated so far is
 * kept (and a stream has already sent it), and OpenAI's clients would retry a 408 or 5xx automatically, multiplying
 * the work of a server whose load made requests time out.
 */
enum ChoiceFinish {
    /** An end-of-sequence or stop token, or a stop string. */
    STOP("stop", false),
    /** The model stopped after calling functions ({@link ToolCallSplitter}). */
    TOOL_CALLS("tool_calls", false),
    /** {@code max_tokens} or the model's positions. */
    LENGTH("length", false),
    /** The engine's time limit for a request ({@code InferenceEngine.Builder.defaultTimeout}). */
    TIMEOUT("length", true);

    private final String reason;
    private final boolean timedOut;

    ChoiceFinish(String reason, boolean timedOut) {
        this.reason = reason;
        this.timedOut = timedOut;
    }

    /**
     * Puts {@code finish_reason} (and {@code timed_out} when the time limit ended the choice) into {@code choice}.
     *
     * @param choice a choice object
     * @param finish why it ended, or null while it goes on ({@code "finish_reason": null})
     */
    static void write(ObjectNode choice, ChoiceFinish finish) {
        if (finish == null) {
            choice.putNull("finish_reason");
            return;
        }
        choice.put("finish_reason", finish.reason);
        if (finish.timedOut) {
            choice.put("timed_out", true);
        }
    }
}
