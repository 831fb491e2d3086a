package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ToolCall;

import java.util.List;

/**
 * Mistral's calls from tokenizer v11 on (Mistral Small 3.1 and 3.2, Magistral, Devstral):
 * {@code [TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}}, the next call's {@code [TOOL_CALLS]} right after, text
 * only before the first. Both markers are special tokens, which decoding usually drops, so each is optional: a name
 * followed at once by an object reads as a call after a marker or a call, and at the start of the answer (a plain
 * answer's first word is held back until the character after it tells). A name is what OpenAI allows in one:
 * 1 to 64 letters, digits, {@code _} and {@code -}. Ids are 9 letters and digits, as Mistral's templates require.
 */
final class MistralV11Format extends ToolCallFormat {
    private static final String CALLS = "[TOOL_CALLS]";
    private static final String ARGS = "[ARGS]";
    /** OpenAI's limit on a function name; it also bounds what a plain answer's first word holds back. */
    private static final int MAX_NAME = 64;

    /** How the call at a position starts: its name and the index of its arguments' brace, or why there is none. */
    private record Opening(String name, int brace, Step otherwise) {
    }

    @Override
    public String name() {
        return "mistral_v11";
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        int marked = text.indexOf(CALLS);
        int i = JsonSpans.skipWhitespace(text, 0);
        boolean bare = outputStart && opening(text, i).name() != null;
        return bare && (marked < 0 || i < marked) ? i : marked;
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        if (outputStart && opening(text, JsonSpans.skipWhitespace(text, 0)).otherwise() == Step.INCOMPLETE) {
            return 0;
        }
        return heldPrefix(text, CALLS);
    }

    @Override
    List<CallHead> heads(String section, int at) {
        Opening opening = opening(section, JsonSpans.skipWhitespace(section, at));
        return opening.name() == null ? List.of() : List.of(new CallHead(opening.name(), opening.brace()));
    }

    @Override
    Step step(String section, int at) {
        Opening opening = opening(section, JsonSpans.skipWhitespace(section, at));
        if (opening.name() == null) {
            return opening.otherwise();
        }
        return span(section, opening.brace(), (json, end) -> {
            ToolCall call = CallJson.callOf(opening.name(), json, newCallId());
            return call == null ? Step.NOT_A_CALL : new Step.Calls(List.of(call), end, false);
        });
    }

    /** Reads {@code [TOOL_CALLS]? name [ARGS]? {} at {@code i}. */
    private static Opening opening(String text, int i) {
        int nameStart = text.startsWith(CALLS, i) ? i + CALLS.length() : i;
        if (nameStart == i && i < text.length() && JsonSpans.startsPartOf(text, i, CALLS)) {
            return new Opening(null, -1, Step.INCOMPLETE);
        }
        int nameEnd = nameStart;
        while (nameEnd < text.length() && isNameChar(text.charAt(nameEnd))) {
            nameEnd++;
        }
        if (nameEnd - nameStart > MAX_NAME) {
            return new Opening(null, -1, Step.NOT_A_CALL);
        }
        int brace = text.startsWith(ARGS, nameEnd) ? nameEnd + ARGS.length() : nameEnd;
        if (nameEnd == text.length() || (brace == nameEnd && JsonSpans.startsPartOf(text, nameEnd, ARGS)) || brace == text.length()) {
            return new Opening(null, -1, Step.INCOMPLETE);
        }
        if (nameEnd == nameStart || text.charAt(brace) != '{') {
            return new Opening(null, -1, Step.NOT_A_CALL);
        }
        return new Opening(text.substring(nameStart, nameEnd), brace, null);
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }

    @Override
    String newCallId() {
        return CallJson.randomId("", 9);
    }
}
