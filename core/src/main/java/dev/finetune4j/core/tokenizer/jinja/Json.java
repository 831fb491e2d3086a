package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * Transformers' {@code tojson} filter: Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)}, so
 * non-ASCII text stays as it is, separators are {@code ", "} and {@code ": "} ({@code ","} between items when
 * indenting), and floats print as Python's repr.
 */
final class Json {
    private Json() {
    }

    static String dumps(Object value, Object indent, int maxChars) {
        String unit = switch (indent) {
            case null -> null;
            case String s -> s;
            case Long n -> " ".repeat((int) Math.max(0, Math.min(n, 1000)));
            default -> throw Py.typeError("tojson's indent must be an int or a string, not " + Py.typeName(indent));
        };
        StringBuilder sb = new StringBuilder();
        write(sb, value, unit, 0, maxChars);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, String unit, int level, int maxChars) {
        Py.checkSize(sb.length(), maxChars);
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Long l -> sb.append(l);
            case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : Py.floatRepr(d));
            case String s -> string(sb, s);
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    separate(sb, unit, level + 1, i > 0);
                    write(sb, l.get(i), unit, level + 1, maxChars);
                }
                close(sb, unit, level, ']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    separate(sb, unit, level + 1, i++ > 0);
                    string(sb, key(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), unit, level + 1, maxChars);
                }
                close(sb, unit, level, '}');
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

    private static void separate(StringBuilder sb, String unit, int level, boolean notFirst) {
        if (unit == null) {
            sb.append(notFirst ? ", " : "");
        } else {
            sb.append(notFirst ? "," : "").append('\n').append(unit.repeat(level));
        }
    }

    private static void close(StringBuilder sb, String unit, int level, char bracket) {
        if (unit != null) {
            sb.append('\n').append(unit.repeat(level));
        }
        sb.append(bracket);
    }

    private static void string(StringBuilder sb, String s) {
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
                    if (c < 0x20) {
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
