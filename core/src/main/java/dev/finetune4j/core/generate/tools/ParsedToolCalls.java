package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/**
 * A model's output split by {@link ToolCallFormat#parse}.
 *
 * @param content the text that is not a call (before the first call, and from the first thing after them that is not
 *                one); null when blank
 * @param calls   the calls, in order, each with a fresh id; empty when the output makes none
 */
public record ParsedToolCalls(String content, List<ToolCall> calls) {
    /** Copies the calls. */
    public ParsedToolCalls {
        calls = List.copyOf(calls);
    }
}
