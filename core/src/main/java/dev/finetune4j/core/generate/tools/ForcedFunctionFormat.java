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
    List<CallHead> heads(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        return i < section.length() && section.charAt(i) == '{' ? List.of(new CallHead(function, i)) : List.of();
    }

    @Override
    List<ToolCall> calls(String json) {
        ToolCall call = CallJson.callOf(function, json, newCallId());
        return call == null ? null : List.of(call);
    }
}
