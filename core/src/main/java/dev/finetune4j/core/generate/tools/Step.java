package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/** What a {@link ToolCallFormat} reads at a position of a call section. */
sealed interface Step {
    /**
     * The section's text ends before what starts there is known: wait for more.
     *
     * @param openValue the scan of the JSON object or array the text ends inside, which only a closing bracket can
     *                  complete (a stream may resume it rather than step again); null when the text ends elsewhere
     *                  (whitespace, a part of a marker)
     */
    record Incomplete(JsonSpans.Scan openValue) implements Step {
    }

    /** What starts there is not a well-formed call: the text from there on is content. */
    record NotACall() implements Step {
    }

    /**
     * Complete calls.
     *
     * @param calls          the calls, in order
     * @param end            the index just past them
     * @param closesSection  true when no call can follow (the array of calls closed): later text is content
     */
    record Calls(List<ToolCall> calls, int end, boolean closesSection) implements Step {
    }

    /** The shared {@link Incomplete} outside any JSON value. */
    Step INCOMPLETE = new Incomplete(null);
    /** The shared {@link NotACall}. */
    Step NOT_A_CALL = new NotACall();
}
