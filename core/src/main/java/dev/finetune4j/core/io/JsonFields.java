package dev.finetune4j.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.math.BigDecimal;
import java.util.function.DoublePredicate;

/**
 * Exact reads of numbers from configs ({@code config.json}, {@code adapter_config.json}). Jackson's
 * {@code asInt()} truncates: {@code 4294967360} (2^32 + 64) reads as 64 and {@code 4.7} as 4, so a hostile or
 * mistyped file would silently become another model. Here an integer field must hold an integer within stated
 * bounds, and a real field a finite number; anything else is an {@link IllegalArgumentException} that names the
 * file, the field, the value and the accepted range.
 *
 * <p>Thread safety: stateless.
 */
public final class JsonFields {
    private JsonFields() {
    }

    /**
     * The integer {@code field} of {@code c}, or {@code fallback} when it is absent or null.
     *
     * @param c the JSON object, e.g. a {@code config.json}
     * @param field the field's name
     * @param fallback the value when the field is absent or null
     * @param min smallest allowed value
     * @param max largest allowed value
     * @param where the file, for messages
     * @return the value
     * @throws IllegalArgumentException when the value is not an integer (4.0 is one, 4.7 is not) in [min, max]
     */
    public static int integer(JsonNode c, String field, int fallback, int min, int max, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        return exactInteger(n, field, min, max, where);
    }

    /**
     * As {@link #integer}, for a field that must be present.
     *
     * @param c the JSON object
     * @param field the field's name
     * @param min smallest allowed value
     * @param max largest allowed value
     * @param where the file, for messages
     * @return the value
     */
    public static int requiredInteger(JsonNode c, String field, int min, int max, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(where + ": '" + field + "' is missing; it must be an integer in [" + min
                    + ", " + max + "]");
        }
        return exactInteger(n, field, min, max, where);
    }

    /**
     * {@code n} as an integer in [min, max].
     *
     * @param n the JSON value
     * @param field the field's name, for messages
     * @param min smallest allowed value
     * @param max largest allowed value
     * @param where the file, for messages
     * @return the value
     */
    public static int exactInteger(JsonNode n, String field, int min, int max, String where) {
        boolean finite = n.isNumber() && !(n.isFloatingPointNumber() && !Double.isFinite(n.doubleValue()));
        BigDecimal value = finite ? n.decimalValue() : null;
        boolean integral = value != null && value.stripTrailingZeros().scale() <= 0;
        if (!integral || value.compareTo(BigDecimal.valueOf(min)) < 0 || value.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw new IllegalArgumentException(where + ": '" + field + "' = " + n + " must be an integer in [" + min
                    + ", " + max + "]");
        }
        return value.intValueExact();
    }

    /**
     * The finite number {@code field} of {@code c}, or {@code fallback} when it is absent or null.
     *
     * @param c the JSON object
     * @param field the field's name
     * @param fallback the value when the field is absent or null
     * @param where the file, for messages
     * @return the value
     */
    public static double number(JsonNode c, String field, double fallback, String where) {
        return number(c, field, fallback, v -> true, "", where);
    }

    /**
     * As {@link #number}, for a number that must also lie in a range, e.g. {@code v -> v > 1} for
     * {@code rope_theta}: a finite value outside it would make every logit NaN rather than fail.
     *
     * @param c the JSON object
     * @param field the field's name
     * @param fallback the value when the field is absent or null
     * @param inRange whether a finite value is acceptable
     * @param range the accepted range in words, for messages, e.g. "> 1" or "in (0, 1)"; empty for any finite value
     * @param where the file, for messages
     * @return the value
     * @throws IllegalArgumentException when the value is not a finite number accepted by {@code inRange}
     */
    public static double number(JsonNode c, String field, double fallback, DoublePredicate inRange, String range,
                                String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isNumber() || !Double.isFinite(n.doubleValue()) || !inRange.test(n.doubleValue())) {
            throw new IllegalArgumentException(where + ": '" + field + "' = " + n + " must be a finite number"
                    + (range.isEmpty() ? "" : " " + range));
        }
        return n.doubleValue();
    }

    /**
     * The JSON boolean {@code field} of {@code c}, or {@code fallback} when it is absent or null. Jackson's
     * {@code asBoolean()} reads the string "yes" as false; here only {@code true} and {@code false} are accepted.
     *
     * @param c the JSON object
     * @param field the field's name
     * @param fallback the value when the field is absent or null
     * @param where the file, for messages
     * @return the value
     * @throws IllegalArgumentException when the value is not a JSON boolean
     */
    public static boolean bool(JsonNode c, String field, boolean fallback, String where) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(where + ": '" + field + "' = " + n + " must be true or false");
        }
        return n.booleanValue();
    }

    /**
     * The object {@code field} of {@code c}, or a missing node (whose fields all read as absent) when it is
     * absent or null.
     *
     * @param c the JSON object
     * @param field the field's name
     * @param where the file, for messages
     * @return the object, or a missing node
     * @throws IllegalArgumentException when the value is neither an object nor null
     */
    public static JsonNode object(JsonNode c, String field, String where) {
        JsonNode n = c.path(field);
        if (n.isMissingNode() || n.isNull()) {
            return MissingNode.getInstance();
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException(where + ": '" + field + "' = " + n + " must be an object or null");
        }
        return n;
    }
}
