package dev.finetune4j.core.tokenizer.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Transformers' {@code tojson} filter: Python's {@code json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
 * separators=separators, sort_keys=sort_keys)} with {@code ensure_ascii} false by default, so non-ASCII text stays as it is, separators are {@code ", "}
 * and {@code ": "} by default ({@code ","} between items when indenting), and floats print as Python's repr.
 */
final class Json {
    private Json() {
    }

    /** How to lay out: the indent unit (null for one line) and the two separators. */
    private record Layout(String unit, String item, String key, boolean sortKeys, boolean ascii) { }

    static String dumps(Object value, boolean ascii, Object indent, Object separators, boolean sortKeys, int maxChars) {
        String unit = switch (indent) {
            case null -> null;
            case String s -> s;
            case Long n -> " ".repeat((int) Math.max(0, Math.min(n, 1000)));
            default -> throw Py.typeError("tojson's indent must be an int or a string, not " + Py.typeName(indent));
        };
        String item = unit == null ? ", " : ",";
        String key = ": ";
        if (separators != null) {
            if (!(separators instanceof List<?> pair) || pair.size() != 2 || !(pair.get(0) instanceof String)
                    || !(pair.get(1) instanceof String)) {
                throw Py.typeError("tojson's separators must be a pair of strings, like (',', ': ')");
            }
            item = (String) pair.get(0);
            key = (String) pair.get(1);
        }
        StringBuilder sb = new StringBuilder();
        write(sb, value, new Layout(unit, item, key, sortKeys, ascii), 0, maxChars);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Layout layout, int level, int maxChars) {
        Py.checkSize(sb.length(), maxChars);
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Long l -> sb.append(l);
            case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : Py.floatRepr(d));
            case String s -> string(sb, s, layout.ascii());
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    separate(sb, layout, level + 1, i > 0);
                    write(sb, l.get(i), layout, level + 1, maxChars);
                }
                close(sb, layout, level, ']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                if (layout.sortKeys()) {
                    entries.sort((x, y) -> Py.compare(x.getKey(), y.getKey(), "<"));
                }
                int i = 0;
                for (Map.Entry<?, ?> e : entries) {
                    separate(sb, layout, level + 1, i++ > 0);
                    string(sb, key(e.getKey()), layout.ascii());
                    sb.append(layout.key());
                    write(sb, e.getValue(), layout, level + 1, maxChars);
                }
                close(sb, layout, level, '}');
            }
            default -> throw Py.typeError("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    /** json.dumps turns keys that are not strings into strings: True -> "true", 1 -> "1", None -> "null". */
    private static String key(Object k) {
        return switch (k) {
            case String s -> s;
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Long l -> l.toString();
            case Double d -> Py.floatRepr(d);
            default -> throw Py.typeError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
        };
    }

    private static void separate(StringBuilder sb, Layout layout, int level, boolean notFirst) {
        sb.append(notFirst ? layout.item() : "");
        if (layout.unit() != null) {
            sb.append('\n').append(layout.unit().repeat(level));
        }
    }

    private static void close(StringBuilder sb, Layout layout, int level, char bracket) {
        if (layout.unit() != null) {
            sb.append('\n').append(layout.unit().repeat(level));
        }
        sb.append(bracket);
    }

    private static void string(StringBuilder sb, String s, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || ascii && c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
