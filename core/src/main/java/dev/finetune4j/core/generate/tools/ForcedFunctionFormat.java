package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;
import java.util.Objects;

/** The output of a tool choice naming one function: the whole output is its arguments object. */
final class ForcedFunctionFormat extends ForcedFormat {
    private final String function;

    ForcedFunctionFormat(String function) {
        this.function = Objects.requireNonNull(function, "function");
    }

    @Override
    public String name() {
        return "function " + function;
    }

    @Override
    List<ToolCall> calls(String json) {
        ToolCall call = CallJson.callOf(function, json, newCallId());
        return call == null ? null : List.of(call);
    }
}
