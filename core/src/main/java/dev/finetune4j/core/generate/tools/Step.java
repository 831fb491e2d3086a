package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/** What a {@link ToolCallFormat} reads at a position of a call section. */
sealed interface Step {
    /** The section's text ends before what starts there is known: wait for more. */
    record Incomplete() implements Step {
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

    /** The shared {@link Incomplete}. */
    Step INCOMPLETE = new Incomplete();
    /** The shared {@link NotACall}. */
    Step NOT_A_CALL = new NotACall();
}
