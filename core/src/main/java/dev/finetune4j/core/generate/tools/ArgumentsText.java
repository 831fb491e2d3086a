package dev.finetune4j.core.generate.tools;

/**
 * A call's arguments as clients receive them: the JSON object the model wrote, with the whitespace outside strings
 * left out and everything else (key order, escapes, number spellings) as written. Read incrementally, so that a
 * streamed call's pieces and a whole answer's arguments are the same text: {@link #feed} takes the raw text as it
 * arrives and stops after the object's closing brace.
 *
 * <p>Not thread-safe: one per call.
 */
final class ArgumentsText implements ArgumentsReader {
    private final StringBuilder text = new StringBuilder();
    private int depth;
    private boolean inString;
    private boolean escaped;
    private boolean closed;

    /** {@code json} (one complete object or array) without the whitespace outside its strings. */
    static String minify(String json) {
        ArgumentsText arguments = new ArgumentsText();
        arguments.feed(json, 0, json.length());
        return arguments.text();
    }

    /** Reads {@code raw[from, to)}, stopping after the value's closing bracket. */
    @Override
    public int feed(CharSequence raw, int from, int to) {
        int i = from;
        while (i < to && !closed) {
            char c = raw.charAt(i++);
            if (inString) {
                text.append(c);
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (" \t\r\n".indexOf(c) < 0) {
                text.append(c);
                if (c == '"') {
                    inString = true;
                } else if (c == '{' || c == '[') {
                    depth++;
                } else if ((c == '}' || c == ']') && --depth == 0) {
                    closed = true;
                }
            }
        }
        return i - from;
    }

    /** Whether the value's closing bracket has been read. */
    @Override
    public boolean closed() {
        return closed;
    }

    @Override
    public CharSequence written() {
        return text;
    }
}
