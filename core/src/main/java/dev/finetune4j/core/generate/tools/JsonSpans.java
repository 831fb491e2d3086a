package dev.finetune4j.core.generate.tools;

/**
 * Where a JSON object or array in a model's text ends, found by counting brackets outside strings (a string's
 * escapes included), so braces and markers inside string values do not end it. Whether the span is valid JSON is
 * left to the parser that reads it. Linear in the span's length, also when it arrives in pieces ({@link Scan}).
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
        return opensValue(text, from) ? new Scan(from).resume(text) : NOT_JSON;
    }

    /** Whether an object or array starts at {@code at}. */
    static boolean opensValue(String text, int at) {
        return at < text.length() && (text.charAt(at) == '{' || text.charAt(at) == '[');
    }

    /**
     * The scan of one object or array, resumable: a stream that holds a value still open scans only the text that
     * arrived since, so a value written in many pieces costs time linear in its length, not quadratic.
     */
    static final class Scan {
        /** The next index to read; past the end when the last piece ended on a string's backslash. */
        private int next;
        private int depth;
        private boolean inString;

        /** A scan of the object or array whose opening bracket is at {@code from}. */
        Scan(int from) {
            this.next = from;
        }

        /**
         * Reads on from where the last call stopped.
         *
         * @param text the text scanned before, with more at its end (never changed before its end)
         * @return the index just past the value's closing bracket, or {@link #INCOMPLETE}
         */
        int resume(CharSequence text) {
            for (int i = next; i < text.length(); i++) {
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
                        next = i + 1;
                        return i + 1;
                    }
                }
                next = i + 1;
            }
            next = Math.max(next, text.length());
            return INCOMPLETE;
        }
    }

    /** The index of the first character at or after {@code from} that is not JSON whitespace. */
    static int skipWhitespace(CharSequence text, int from) {
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
