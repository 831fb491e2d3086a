package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.Map;

/** The module's shared, thread-safe Jackson mapper and helpers. */
public final class Json {
    /** Strict reader (trailing tokens are an error), compact writer. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {
    }

    /**
     * Compact JSON text of a value.
     *
     * @param value a JSON-like value: map, list, string, number, boolean or null
     * @return the JSON text on one line
     */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("value cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The JSON name of a parsed value's type, for messages: {@code string}, {@code number}, {@code array}... */
    static String typeName(Object value) {
        return switch (value) {
            case null -> "null";
            case String s -> "string";
            case Number n -> "number";
            case Boolean b -> "boolean";
            case java.util.List<?> l -> "array";
            case Map<?, ?> m -> "object";
            default -> value.getClass().getSimpleName();
        };
    }

    /**
     * Where a parsed value holds an unpaired UTF-16 surrogate (the JSON escape of U+D83D without the low surrogate
     * that completes it, left by cutting text in the middle of an emoji): such a string is no Unicode text, cannot be written as UTF-8,
     * and its line is bad input as a line of invalid UTF-8 is.
     *
     * @param value a parsed JSON value
     * @return the path of the first such string ({@code text}, {@code messages[2].content}, a key), or null
     */
    static String unpairedSurrogate(Object value) {
        return unpairedSurrogate(value, "");
    }

    private static String unpairedSurrogate(Object value, String path) {
        switch (value) {
            case String s -> {
                return hasUnpairedSurrogate(s) ? (path.isEmpty() ? "a value" : path) : null;
            }
            case Map<?, ?> m -> {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    String key = String.valueOf(e.getKey());
                    String at = path.isEmpty() ? key : path + "." + key;
                    if (hasUnpairedSurrogate(key)) {
                        return "the key " + at;
                    }
                    String found = unpairedSurrogate(e.getValue(), at);
                    if (found != null) {
                        return found;
                    }
                }
                return null;
            }
            case java.util.List<?> l -> {
                for (int i = 0; i < l.size(); i++) {
                    String found = unpairedSurrogate(l.get(i), path + "[" + i + "]");
                    if (found != null) {
                        return found;
                    }
                }
                return null;
            }
            case null, default -> {
                return null;
            }
        }
    }

    /**
     * Whether {@code s} holds a UTF-16 surrogate without its pair: text with no UTF-8 form.
     *
     * @param s a string
     * @return true when a high surrogate is not followed by a low one, or a low one not preceded by a high one
     */
    public static boolean hasUnpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Refuses a record whose text a step left holding an unpaired surrogate (a cut inside an emoji: the readers
     * quarantine such input, so only a step can make one): it has no UTF-8 form, and writing it would lose it or fail
     * without naming the record.
     *
     * @param fields the record's fields
     * @param record the record, as the message names it (its id and source)
     * @throws IllegalStateException naming the field
     */
    public static void requireUnicode(Map<String, Object> fields, String record) {
        String where = unpairedSurrogate(fields);
        if (where != null) {
            throw new IllegalStateException("record " + record + ": " + where + " holds an unpaired UTF-16 surrogate, "
                    + "which has no UTF-8 form; a step cut the text inside a character (an emoji): cut at code point "
                    + "boundaries (String.offsetByCodePoints)");
        }
    }

    /** The bad-line reason for a value that holds an unpaired surrogate at {@code where}. */
    static String unpairedSurrogateReason(String where) {
        return "invalid Unicode: " + where + " holds an unpaired surrogate escape (such as \\ud83d without the "
                + "\\ude00 that completes it, left by text cut inside an emoji), which is no character; fix or drop it";
    }

    /** Parses one JSON object. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readObject(String text) throws JsonProcessingException {
        return MAPPER.readValue(text, Map.class);
    }
}
