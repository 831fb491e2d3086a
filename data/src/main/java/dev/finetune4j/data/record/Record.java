package dev.finetune4j.data.record;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One training example: JSON-like fields (strings, numbers, booleans, lists and maps), where it came from,
 * and metadata that steps attach (near-duplicate cluster, the original of an augmented record...).
 *
 * <p>Immutable and serializable, so that steps can run inside Spark or Beam. Field values are the plain Java
 * shapes Jackson produces for JSON: {@code String}, {@code Number}, {@code Boolean}, {@code List}, {@code Map}.
 *
 * @param id     a stable identifier; by default the source reference {@code file:line}
 * @param source the input file and line the record was read from
 * @param fields the record's content, in input order
 * @param meta   metadata attached by steps (written under {@code _meta} in outputs)
 */
public record Record(String id, SourceRef source, Map<String, Object> fields, Map<String, String> meta)
        implements Serializable {

    /**
     * Checks that the id and source are present and copies fields and metadata into unmodifiable maps that keep their
     * order.
     */
    public Record {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(source, "source");
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        meta = Collections.unmodifiableMap(new LinkedHashMap<>(meta));
    }

    /**
     * A record read from {@code source}, identified by it.
     *
     * @param source the input file and line; also the record's id
     * @param fields the record's content
     * @return a record without metadata
     */
    public static Record of(SourceRef source, Map<String, Object> fields) {
        return new Record(source.toString(), source, fields, Map.of());
    }

    /**
     * A copy with other fields.
     *
     * @param newFields the fields of the copy
     * @return a record with the same id, source and metadata
     */
    public Record withFields(Map<String, Object> newFields) {
        return new Record(id, source, newFields, meta);
    }

    /**
     * A copy with one metadata entry added or replaced.
     *
     * @param key the entry's name
     * @param value the entry's value
     * @return a record with the same id, source and fields
     */
    public Record withMeta(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(meta);
        m.put(key, value);
        return new Record(id, source, fields, m);
    }

    /**
     * The value of a top-level field as a string, or {@code null} when absent.
     *
     * @param field the field's name
     * @return the value's {@code toString()}, or {@code null}
     */
    public String string(String field) {
        Object v = fields.get(field);
        return v == null ? null : v.toString();
    }

    /**
     * Every text value of the record in order (nested lists and maps included; roles, ids and the {@code tools}
     * definitions excluded; a tool call's function name included; a tool call's arguments or a tool's result that
     * holds JSON read as its field names and values, not its syntax; a ShareGPT function_call read as its calls'
     * names and arguments, as the same call of an OpenAI message reads).
     *
     * @return the text values in field order
     */
    public List<String> texts() {
        List<String> out = new ArrayList<>();
        collectTexts(fields, null, null, false, out);
        return out;
    }

    /**
     * All text values joined by newlines: what filters and dedup look at.
     *
     * @return the joined text
     */
    public String text() {
        return String.join("\n", texts());
    }

    /**
     * A copy whose text values are transformed by {@code f} (labels such as {@code role}, ids, function names and the
     * {@code tools} definitions are kept as they are; in a tool call's arguments or a tool's result that holds JSON, each string and number value
     * is transformed and the JSON around them kept, and so in a ShareGPT function_call's arguments, its names and ids
     * kept). Returns {@code this} when nothing changed.
     *
     * @param f the transformation of one text value
     * @return the transformed copy, or {@code this}
     */
    public Record mapTexts(UnaryOperator<String> f) {
        return map(f, false);
    }

    /**
     * A copy whose prose is transformed by {@code f}: the text of system, user and assistant turns and of other
     * fields, but not a tool call's arguments or a tool's result, which an augmentation must not change (a call
     * whose arguments no longer match the question, a result the answer no longer reads). Returns {@code this} when
     * nothing changed.
     *
     * @param f the transformation of one text value
     * @return the transformed copy, or {@code this}
     */
    public Record mapProse(UnaryOperator<String> f) {
        return map(f, true);
    }

    private Record map(UnaryOperator<String> f, boolean proseOnly) {
        @SuppressWarnings("unchecked")
        Map<String, Object> mapped = (Map<String, Object>) mapValue(null, null, false, fields, f, proseOnly);
        return mapped.equals(fields) ? this : withFields(mapped);
    }

    /**
     * Adds the text values under {@code value}; {@code inArguments} is set inside a tool call's arguments given as an
     * object, where every string is the caller's data whatever its key (a {@code name} or {@code id} there is a
     * customer's, not a label).
     */
    private static void collectTexts(Object value, String key, Map<?, ?> owner, boolean inArguments, List<String> out) {
        boolean nested = inArguments || "arguments".equals(key);
        if (toolDefinitions(key, inArguments)) {
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> collectTexts(v, String.valueOf(k), map, nested, out));
        } else if (value instanceof List<?> list) {
            list.forEach(v -> collectTexts(v, key, null, nested, out));
        } else if (value instanceof String s) {
            TextKind kind = inArguments ? TextKind.TEXT : TextKind.of(key, owner);
            switch (kind) {
                case TEXT, IDENTIFIER -> out.add(s);
                case JSON_TEXT, CALL_JSON -> {
                    List<String> words = kind == TextKind.CALL_JSON ? JsonText.callWords(s) : JsonText.words(s);
                    out.addAll(words != null ? words : List.of(s));
                }
                case LABEL -> {
                }
            }
        }
    }

    /**
     * The record's {@code tools}: function definitions whose schemas ({@code "type": "string"}, enum values) no step
     * may rewrite, and which hold no conversation text to read. A {@code tools} key inside a call's arguments is the
     * caller's data.
     */
    private static boolean toolDefinitions(String key, boolean inArguments) {
        return !inArguments && "tools".equals(key);
    }

    /**
     * {@code value} with its text values mapped; {@code inArguments} as for {@link #collectTexts}; {@code proseOnly}
     * keeps tool call arguments and tool results as they are.
     */
    private static Object mapValue(String key, Map<?, ?> owner, boolean inArguments, Object value, UnaryOperator<String> f,
                                   boolean proseOnly) {
        boolean nested = inArguments || "arguments".equals(key);
        if (toolDefinitions(key, inArguments) || proseOnly && nested) {
            return value;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(String.valueOf(k), mapValue(String.valueOf(k), map, nested, v, f, proseOnly)));
            return out;
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            list.forEach(v -> out.add(mapValue(key, null, nested, v, f, proseOnly)));
            return out;
        }
        if (value instanceof String s) {
            TextKind kind = inArguments ? TextKind.TEXT : TextKind.of(key, owner);
            if (proseOnly && (kind == TextKind.JSON_TEXT || kind == TextKind.CALL_JSON)) {
                return s;
            }
            return switch (kind) {
                case TEXT -> f.apply(s);
                case JSON_TEXT, CALL_JSON -> {
                    String mapped = kind == TextKind.CALL_JSON ? JsonText.mapCallValues(s, f) : JsonText.mapValues(s, f);
                    yield mapped != null ? mapped : f.apply(s);
                }
                case IDENTIFIER, LABEL -> s;
            };
        }
        return value;
    }
}
