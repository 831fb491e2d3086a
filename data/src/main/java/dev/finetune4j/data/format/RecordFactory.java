package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.data.record.SourceRef;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Turns parsed field maps into records or bad lines, checking them against a schema; shared by all readers. */
final class RecordFactory {
    static final String META_FIELD = "_meta";
    static final String SOURCE_KEY = "source";
    private final String file;
    private final Schema schema;
    private final boolean trustMeta;

    RecordFactory(String file, Schema schema, boolean trustMeta) {
        this.file = file;
        this.schema = schema;
        this.trustMeta = trustMeta;
    }

    /** Whether {@code _meta} is read (in our own outputs) or ignored (in any other input). */
    boolean trustsMeta() {
        return trustMeta;
    }

    Parsed make(long line, Map<String, Object> fields, String raw) {
        Map<String, Object> content = new LinkedHashMap<>(fields);
        Object metaValue = content.remove(META_FIELD);
        Optional<Schema> s = schema != null ? Optional.of(schema) : Schema.detect(content);
        if (s.isEmpty()) {
            return bad(line, "wrong field types: no known schema; expected one of text | instruction/output"
                    + " | messages | conversations | prompt/chosen/rejected, found keys " + content.keySet(), raw);
        }
        Optional<String> error = s.get().validate(content);
        if (error.isPresent()) {
            return bad(line, "wrong field types: " + error.get() + " (schema " + s.get() + ")", raw);
        }
        String infinite = nonFinite(content, "");
        if (infinite != null) {
            return bad(line, "wrong field types: '" + infinite + "' is a number too large for a double (it would be"
                    + " written back as the string \"Infinity\"); quote it if it is an identifier", raw);
        }
        SourceRef here = new SourceRef(file, line);
        Map<String, String> meta = new LinkedHashMap<>();
        if (trustMeta && metaValue instanceof Map<?, ?> m) {
            m.forEach((k, v) -> meta.put(String.valueOf(k), String.valueOf(v)));
        }
        // NOTE: a record re-read from our own output keeps its original source as its id; in any other input,
        // _meta is ignored so that a line cannot claim to come from elsewhere.
        String id = meta.getOrDefault(SOURCE_KEY, here.toString());
        return new Parsed.Ok(new Record(id, here, content, meta));
    }

    /** The path of the first number that parsed as an infinite double (JSON has no NaN), or {@code null}. */
    private static String nonFinite(Object value, String path) {
        switch (value) {
            case Double d when d.isInfinite() -> {
                return path;
            }
            case Map<?, ?> m -> {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    String found = nonFinite(e.getValue(), path.isEmpty() ? String.valueOf(e.getKey())
                            : path + "." + e.getKey());
                    if (found != null) {
                        return found;
                    }
                }
            }
            case List<?> l -> {
                for (int i = 0; i < l.size(); i++) {
                    String found = nonFinite(l.get(i), path + "[" + i + "]");
                    if (found != null) {
                        return found;
                    }
                }
            }
            case null, default -> {
            }
        }
        return null;
    }

    Parsed bad(long line, String reason, String raw) {
        return new Parsed.Bad(new BadLine(file, line, reason, raw));
    }
}
