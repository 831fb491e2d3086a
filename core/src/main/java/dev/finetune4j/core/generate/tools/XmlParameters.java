package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashSet;
import java.util.Set;

/**
 * The body of a Qwen3-Coder call, from just past {@code <function=NAME>} to its {@code </function>}, read into the
 * arguments object: each {@code <parameter=KEY>}, its value up to the first {@code </parameter>} less one leading and
 * one trailing newline (the template writes {@code <parameter=KEY>\nVALUE\n</parameter>}), typed by
 * {@link ParameterValues}; whitespace between parameters. The object is written compactly, keys in the order written;
 * each parameter is added once its closing tag is read, so a stream sends the arguments a parameter at a time.
 *
 * <p>Malformed, and then {@link #closed()} with {@link #failed()}: anything but whitespace between parameters, a
 * value holding {@code <parameter=} at the start of a line (its {@code </parameter>} was left out: where it ends would
 * be a guess; vLLM ends it there), a key that is empty or holds {@code <} or a newline, a key given twice (which
 * value counts would be a guess, as for a JSON key given twice). A value never closed leaves the body unclosed.
 */
final class XmlParameters implements ArgumentsReader {
    private static final String OPEN = "<parameter=";
    private static final String CLOSE = "</parameter>";
    private static final String END = "</function>";
    /** A parameter tag on a line of its own inside a value: the value's closing tag is missing. */
    private static final String NEXT = "\n" + OPEN;

    private enum State { BETWEEN, KEY, VALUE, DONE, FAILED }

    /** The function's {@code properties} schema, or null when the tools do not describe it. */
    private final JsonNode properties;
    private final StringBuilder text = new StringBuilder("{");
    private final StringBuilder key = new StringBuilder();
    private final StringBuilder value = new StringBuilder();
    private final Set<String> seen = new HashSet<>();
    private State state = State.BETWEEN;

    /** @param properties the function's parameters' {@code properties} schema, or null for none (all strings) */
    XmlParameters(JsonNode properties) {
        this.properties = properties;
    }

    @Override
    public int feed(CharSequence raw, int from, int to) {
        int i = from;
        while (i < to && !closed()) {
            if (state == State.BETWEEN) {
                if (" \t\r\n".indexOf(raw.charAt(i)) >= 0) {
                    i++;
                } else if (startsWith(raw, i, to, OPEN)) {
                    i += OPEN.length();
                    state = State.KEY;
                } else if (startsWith(raw, i, to, END)) {
                    i += END.length();
                    text.append('}');
                    state = State.DONE;
                } else if (endsInside(raw, i, to, OPEN) || endsInside(raw, i, to, END)) {
                    return i - from; // more text tells which tag this is
                } else {
                    state = State.FAILED;
                }
            } else if (state == State.KEY) {
                char c = raw.charAt(i++);
                if (c != '>') {
                    key.append(c);
                    state = c == '<' || c == '\n' ? State.FAILED : State.KEY;
                } else {
                    state = key.isEmpty() || !seen.add(key.toString()) ? State.FAILED : State.VALUE;
                }
            } else {
                int close = indexOf(raw, i, to, CLOSE);
                int nested = indexOf(raw, i, close >= 0 ? close : to, NEXT);
                if (nested >= 0) {
                    state = State.FAILED; // the closing tag was left out
                } else if (close >= 0) {
                    value.append(raw, i, close);
                    i = close + CLOSE.length();
                    addParameter();
                    state = State.BETWEEN;
                } else {
                    int upTo = Math.min(heldFrom(raw, i, to, CLOSE), heldFrom(raw, i, to, NEXT));
                    value.append(raw, i, upTo);
                    return upTo - from; // the held end may start a tag
                }
            }
        }
        return i - from;
    }

    /** Adds the parameter just read to the object, typed by its schema. */
    private void addParameter() {
        String name = key.toString();
        int start = value.length() > 0 && value.charAt(0) == '\n' ? 1 : 0;
        int end = value.length() > start && value.charAt(value.length() - 1) == '\n' ? value.length() - 1 : value.length();
        JsonNode schema = properties == null ? null : properties.get(name);
        text.append(text.length() == 1 ? "" : ",").append(ParameterValues.string(name)).append(':')
                .append(ParameterValues.json(schema, value.substring(start, end)));
        key.setLength(0);
        value.setLength(0);
    }

    @Override
    public boolean closed() {
        return state == State.DONE || state == State.FAILED;
    }

    /** Whether the body turned out malformed: it is no call. */
    boolean failed() {
        return state == State.FAILED;
    }

    @Override
    public CharSequence written() {
        return text;
    }

    private static boolean startsWith(CharSequence raw, int at, int to, String marker) {
        if (to - at < marker.length()) {
            return false;
        }
        for (int k = 0; k < marker.length(); k++) {
            if (raw.charAt(at + k) != marker.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code raw[at, to)} is a proper prefix of {@code marker}: more text may complete it. */
    private static boolean endsInside(CharSequence raw, int at, int to, String marker) {
        if (to - at >= marker.length()) {
            return false;
        }
        for (int k = 0; at + k < to; k++) {
            if (raw.charAt(at + k) != marker.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** The first index of {@code marker} in {@code raw[from, to)}, or -1. */
    private static int indexOf(CharSequence raw, int from, int to, String marker) {
        for (int i = from; i <= to - marker.length(); i++) {
            if (raw.charAt(i) == marker.charAt(0) && startsWith(raw, i, to, marker)) {
                return i;
            }
        }
        return -1;
    }

    /** Where the end of {@code raw[from, to)} is a proper prefix of {@code marker}, else {@code to}. */
    private static int heldFrom(CharSequence raw, int from, int to, String marker) {
        for (int n = Math.min(marker.length() - 1, to - from); n > 0; n--) {
            if (endsInside(raw, to - n, to, marker)) {
                return to - n;
            }
        }
        return to;
    }
}
