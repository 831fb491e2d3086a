package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/**
 * Llama 3.1 and 3.2's JSON calls: the answer itself is {@code {"name": ..., "parameters": {...}}}, optionally after
 * {@code <|python_tag|>} (a special token, dropped when decoding skips them), further calls after {@code ;}. A call
 * can only open the answer: text first means a plain answer.
 */
final class Llama3JsonFormat extends ToolCallFormat {
    private static final String PYTHON_TAG = "<|python_tag|>";

    @Override
    public String name() {
        return "llama3_json";
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        int i = JsonSpans.skipWhitespace(text, 0);
        if (!outputStart || i == text.length()) {
            return -1;
        }
        return text.charAt(i) == '{' || text.startsWith(PYTHON_TAG, i) ? i : -1;
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        if (!outputStart) {
            return text.length();
        }
        int i = JsonSpans.skipWhitespace(text, 0);
        return JsonSpans.startsPartOf(text, i, PYTHON_TAG) ? i : text.length();
    }

    @Override
    List<CallHead> heads(String section, int at) {
        CallHead head = objectHead(section, callStart(section, at));
        return head == null ? List.of() : List.of(head);
    }

    @Override
    Step step(String section, int at) {
        return span(section, callStart(section, at), (json, end) -> {
            ToolCall call = CallJson.call(json, newCallId());
            return call == null ? Step.NOT_A_CALL : new Step.Calls(List.of(call), end, false);
        });
    }

    /** Where the call at {@code at} starts: past the python tag (first call) or the {@code ;} (later ones). */
    private static int callStart(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        if (at == 0 && section.startsWith(PYTHON_TAG, i)) {
            i += PYTHON_TAG.length();
        } else if (at > 0 && i < section.length() && section.charAt(i) == ';') {
            i++;
        }
        return i;
    }
}
