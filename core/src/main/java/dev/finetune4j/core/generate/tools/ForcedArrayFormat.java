package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/** The output of the {@code required} tool choice: the whole output is an array of {@code {"name", "parameters"}}. */
final class ForcedArrayFormat extends ToolCallFormat {
    static final ForcedArrayFormat INSTANCE = new ForcedArrayFormat();

    private ForcedArrayFormat() {
    }

    @Override
    public String name() {
        return "any function";
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        return outputStart ? 0 : -1;
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        return text.length();
    }

    @Override
    Step step(String section, int at) {
        return span(section, at, (json, end) -> {
            List<ToolCall> calls = CallJson.calls(json, this::newCallId);
            return calls == null ? Step.NOT_A_CALL : new Step.Calls(calls, end, true);
        });
    }
}
