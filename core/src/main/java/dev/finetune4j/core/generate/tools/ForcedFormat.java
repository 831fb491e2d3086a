package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/**
 * The output of a forced tool choice: the whole output is JSON that the grammar shaped, read into calls from its
 * first byte, nothing held back while streaming (there is no marker to wait for).
 */
abstract sealed class ForcedFormat extends ToolCallFormat permits ForcedFunctionFormat, ForcedArrayFormat {
    @Override
    final int sectionStart(String text, boolean outputStart) {
        return outputStart ? 0 : -1;
    }

    @Override
    final int holdFrom(String text, boolean outputStart) {
        return text.length();
    }

    @Override
    final Step step(String section, int at) {
        return span(section, at, (json, end) -> {
            List<ToolCall> calls = calls(json);
            return calls == null ? Step.NOT_A_CALL : new Step.Calls(calls, end, true);
        });
    }

    /** The calls the JSON holds, or null when it is not the shape this choice forces. */
    abstract List<ToolCall> calls(String json);
}
