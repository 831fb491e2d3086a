package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;
import java.util.Objects;

/** The output of a tool choice naming one function: the whole output is its arguments object. */
final class ForcedFunctionFormat extends ToolCallFormat {
    private final String function;

    ForcedFunctionFormat(String function) {
        this.function = Objects.requireNonNull(function, "function");
    }

    @Override
    public String name() {
        return "function " + function;
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
            ToolCall call = CallJson.callOf(function, json, newCallId());
            return call == null ? Step.NOT_A_CALL : new Step.Calls(List.of(call), end, true);
        });
    }
}
