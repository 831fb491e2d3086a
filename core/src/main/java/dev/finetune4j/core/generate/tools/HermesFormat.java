package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/** {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>} blocks, whitespace between them (Hermes, Qwen). */
final class HermesFormat extends ToolCallFormat {
    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";

    @Override
    public String name() {
        return "hermes";
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        return text.indexOf(OPEN);
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        return heldPrefix(text, OPEN);
    }

    @Override
    List<CallHead> heads(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        CallHead head = section.startsWith(OPEN, i) ? objectHead(section, i + OPEN.length()) : null;
        return head == null ? List.of() : List.of(head);
    }

    @Override
    Step step(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        if (!section.startsWith(OPEN, i)) {
            return JsonSpans.startsPartOf(section, i, OPEN) ? Step.INCOMPLETE : Step.NOT_A_CALL;
        }
        return span(section, i + OPEN.length(), (json, end) -> {
            int k = JsonSpans.skipWhitespace(section, end);
            if (JsonSpans.startsPartOf(section, k, CLOSE)) {
                return Step.INCOMPLETE;
            }
            ToolCall call = section.startsWith(CLOSE, k) ? CallJson.call(json, newCallId()) : null;
            return call == null ? Step.NOT_A_CALL : new Step.Calls(List.of(call), k + CLOSE.length(), false);
        });
    }
}
