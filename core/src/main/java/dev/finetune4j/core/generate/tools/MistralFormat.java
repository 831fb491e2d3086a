package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/**
 * Mistral's {@code [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]}: one array, after any text. The marker is a
 * special token that decoding usually drops, so an answer that opens with an array of objects reads as calls too.
 * Ids are 9 letters and digits, the only ids Mistral's chat templates accept back.
 */
final class MistralFormat extends ToolCallFormat {
    private static final String MARKER = "[TOOL_CALLS]";

    @Override
    public String name() {
        return "mistral";
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        int marked = text.indexOf(MARKER);
        int i = JsonSpans.skipWhitespace(text, 0);
        boolean bareArray = outputStart && i < text.length() && text.charAt(i) == '['
                && text.startsWith("{", JsonSpans.skipWhitespace(text, i + 1));
        return bareArray && (marked < 0 || i < marked) ? i : marked;
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        int i = JsonSpans.skipWhitespace(text, 0);
        boolean mayOpenArray = i == text.length()
                || (text.charAt(i) == '[' && JsonSpans.skipWhitespace(text, i + 1) == text.length());
        return outputStart && mayOpenArray ? i : heldPrefix(text, MARKER);
    }

    @Override
    List<CallHead> heads(String section, int at) {
        return arrayHeads(section, arrayStart(section, at));
    }

    @Override
    Step step(String section, int at) {
        return span(section, arrayStart(section, at), (json, end) -> {
            List<ToolCall> calls = CallJson.calls(json, this::newCallId);
            return calls == null ? Step.NOT_A_CALL : new Step.Calls(calls, end, true);
        });
    }

    /** Where the array starts: past the marker, when there is one. */
    private static int arrayStart(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        return section.startsWith(MARKER, i) ? i + MARKER.length() : i;
    }

    @Override
    String newCallId() {
        return CallJson.randomId("", 9);
    }
}
