package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;
import java.util.function.Supplier;

/**
 * One JSON array of calls after a marker, after any text: Mistral's {@code [TOOL_CALLS][{"name": ..., "arguments":
 * {...}}, ...]} and Granite 3's {@code <|tool_call|>[...]}. The marker is a special token that decoding usually
 * drops, so an answer that opens with an array of objects reads as calls too.
 */
final class MarkedArrayFormat extends ToolCallFormat {
    /** Mistral's: ids of 9 letters and digits, the only ids Mistral's chat templates accept back. */
    static final MarkedArrayFormat MISTRAL = new MarkedArrayFormat("mistral", "[TOOL_CALLS]",
            () -> CallJson.randomId("", 9));
    /** Granite 3's ({@code <|tool_call|>}), with OpenAI-style ids. */
    static final MarkedArrayFormat GRANITE = new MarkedArrayFormat("granite", "<|tool_call|>",
            () -> CallJson.randomId("call_", 24));

    private final String name;
    private final String marker;
    private final Supplier<String> ids;

    private MarkedArrayFormat(String name, String marker, Supplier<String> ids) {
        this.name = name;
        this.marker = marker;
        this.ids = ids;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        int marked = text.indexOf(marker);
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
        return outputStart && mayOpenArray ? i : heldPrefix(text, marker);
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
    private int arrayStart(String section, int at) {
        int i = JsonSpans.skipWhitespace(section, at);
        return section.startsWith(marker, i) ? i + marker.length() : i;
    }

    @Override
    String newCallId() {
        return ids.get();
    }
}
