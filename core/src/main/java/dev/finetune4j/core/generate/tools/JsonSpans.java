package dev.finetune4j.core.generate.tools;

/**
 * Where a JSON object or array in a model's text ends, found by counting brackets outside strings (a string's
 * escapes included), so braces and markers inside string values do not end it. Whether the span is valid JSON is
 * left to the parser that reads it. Linear in the span's length.
 */
final class JsonSpans {
    /** The text ends before the value closes: more may come. */
    static final int INCOMPLETE = -1;
    /** No object or array starts there. */
    static final int NOT_JSON = -2;

    private JsonSpans() {
    }

    /**
     * The end of the object or array that starts at {@code from}.
     *
     * @return the index just past its closing bracket, {@link #INCOMPLETE} or {@link #NOT_JSON}
     */
    static int end(String text, int from) {
        if (from >= text.length() || (text.charAt(from) != '{' && text.charAt(from) != '[')) {
            return NOT_JSON;
        }
        int depth = 0;
        boolean inString = false;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++; // the escaped character, a quote included
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
        }
        return INCOMPLETE;
    }

    /** The index of the first character at or after {@code from} that is not JSON whitespace. */
    static int skipWhitespace(String text, int from) {
        int i = from;
        while (i < text.length() && " \t\r\n".indexOf(text.charAt(i)) >= 0) {
            i++;
        }
        return i;
    }

    /** Whether {@code text} from {@code from} on is a proper prefix of {@code marker} (more text may complete it). */
    static boolean startsPartOf(String text, int from, String marker) {
        int rest = text.length() - from;
        return rest < marker.length() && marker.regionMatches(0, text, from, rest);
    }
}
