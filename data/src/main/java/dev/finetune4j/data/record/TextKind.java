package dev.finetune4j.data.record;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** What a string value of a record is, by its key and the object holding it: what steps read and rewrite. */
enum TextKind {
    /** Prose: read, cleaned, redacted. */
    TEXT,
    /** JSON held as text (tool call arguments, tool results): read and rewritten value by value, see {@link JsonText}. */
    JSON_TEXT,
    /**
     * JSON text of a call or an array of calls (ShareGPT's function_call value): the function's name read but kept,
     * an id neither, the arguments read and rewritten as {@link #JSON_TEXT}; see {@link JsonText#callWords}.
     */
    CALL_JSON,
    /** A function's name: read (it tells two calls apart) but never rewritten (the call must still name it). */
    IDENTIFIER,
    /** A role, id, type tag ({@code "type": "function"}) or label: neither read nor rewritten. */
    LABEL;

    private static final Set<String> LABEL_KEYS = Set.of("role", "from", "id", "name", "label", "tool_call_id", "type");
    /** Roles whose turn's text may be JSON: a tool's result (OpenAI's tool and function, ShareGPT's observation). */
    private static final Set<String> JSON_ROLES = Set.of("tool", "function", "observation");

    /**
     * The kind of the string under {@code key}.
     *
     * @param key   its key, or the key of the list holding it; null at the top
     * @param owner the object holding it, or null when it sits in a list
     */
    static TextKind of(String key, Map<?, ?> owner) {
        if (key == null) {
            return TEXT;
        }
        if (key.equals("name") && owner != null && isFunction(owner)) {
            return IDENTIFIER;
        }
        if (LABEL_KEYS.contains(key)) {
            return LABEL;
        }
        boolean turnText = (key.equals("content") || key.equals("value")) && owner != null;
        if (turnText && roleOf(owner).equals("function_call")) {
            return CALL_JSON;
        }
        if (key.equals("arguments") || turnText && JSON_ROLES.contains(roleOf(owner))) {
            return JSON_TEXT;
        }
        return TEXT;
    }

    /** A tool call's or a tool's {@code function} object: a name beside arguments, parameters or a description. */
    private static boolean isFunction(Map<?, ?> owner) {
        return owner.containsKey("arguments") || owner.containsKey("parameters") || owner.containsKey("description");
    }

    private static String roleOf(Map<?, ?> turn) {
        Object role = turn.get("role") != null ? turn.get("role") : turn.get("from");
        return role instanceof String s ? s.toLowerCase(Locale.ROOT) : "";
    }
}
