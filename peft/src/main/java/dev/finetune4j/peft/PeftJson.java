package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The JSON shapes that several methods' {@code adapter_config.json} fields share: module lists or regexes,
 * string lists, optional strings and numbers written as PEFT writes them. Used by each {@link PeftMethod}'s mapping.
 *
 * <p>Thread safety: stateless.
 */
public final class PeftJson {
    private PeftJson() {
    }

    /**
     * PEFT's {@code target_modules} form: a list of names or a regex string.
     *
     * @param n     the field's value, or null
     * @param field the field's name, for messages ({@code "target_modules"}, {@code "exclude_modules"})
     * @return the modules, or null when the field is absent or null
     * @throws IllegalArgumentException when the value is neither form, a list is empty or a regex does not compile
     */
    public static TargetModules targets(JsonNode n, String field) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return TargetModules.regex(field, n.asText());
        }
        boolean names = n.isArray() && n.valueStream().allMatch(JsonNode::isTextual);
        if (!names || n.isEmpty()) {
            throw new IllegalArgumentException(field + " must be a list of module names or a regex string, found " + n
                    + (names ? " (an empty list)" : "") + "; for example [\"q_proj\", \"v_proj\"] or \".*\\\\.(q_proj|v_proj)\"");
        }
        return new TargetModules.Names(strings(n));
    }

    /**
     * A list of strings.
     *
     * @param n the field's value, or null
     * @return its elements as text, or null when the field is absent or null
     */
    public static List<String> strings(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    /**
     * An optional string field.
     *
     * @param c     the JSON object
     * @param field the field's name
     * @return its text, or null when absent or null
     */
    public static String text(JsonNode c, String field) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? null : n.asText();
    }

    /**
     * Writes a number as PEFT does: integral values without a fraction ({@code 16}, not {@code 16.0}).
     *
     * @param o   the object to write into
     * @param key the field's name
     * @param v   the value
     */
    public static void putNumber(ObjectNode o, String key, double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }

    /**
     * Writes target modules in PEFT's form: a list of names, a regex string, or null.
     *
     * @param o   the object to write into
     * @param key the field's name
     * @param t   the modules, or null
     */
    public static void putTargets(ObjectNode o, String key, TargetModules t) {
        switch (t) {
            case null -> o.putNull(key);
            case TargetModules.Regex r -> o.put(key, r.regex());
            case TargetModules.Names n -> putStrings(o, key, n.names());
        }
    }

    /**
     * Writes a list of strings, or null.
     *
     * @param o      the object to write into
     * @param key    the field's name
     * @param values the strings, or null
     */
    public static void putStrings(ObjectNode o, String key, List<String> values) {
        if (values == null) {
            o.putNull(key);
        } else {
            ArrayNode a = o.putArray(key);
            values.forEach(a::add);
        }
    }
}
