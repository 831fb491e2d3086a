package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/** The output of the {@code required} tool choice: the whole output is an array of {@code {"name", "parameters"}}. */
final class ForcedArrayFormat extends ForcedFormat {
    static final ForcedArrayFormat INSTANCE = new ForcedArrayFormat();

    private ForcedArrayFormat() {
    }

    @Override
    public String name() {
        return "any function";
    }

    @Override
    List<CallHead> heads(String section, int at) {
        return arrayHeads(section, at);
    }

    @Override
    List<ToolCall> calls(String json) {
        return CallJson.calls(json, this::newCallId);
    }
}
