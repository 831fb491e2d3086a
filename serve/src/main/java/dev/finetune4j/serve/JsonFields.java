package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed reads of a request body's fields; a field of the wrong type or out of range is an
 * {@link ApiException#invalid} that names the field, what was expected and what was sent. JSON {@code null} counts
 * as absent, as in OpenAI's API.
 */
final class JsonFields {
    private JsonFields() {
    }

    static boolean present(JsonNode body, String field) {
        JsonNode v = body.get(field);
        return v != null && !v.isNull();
    }

    static String requiredString(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.invalid(field, "'" + field + "' is required");
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(field, "'" + field + "' must be a string, got " + describe(v));
        }
        return v.asText();
    }

    static boolean bool(JsonNode body, String field, boolean absent) {
        if (!present(body, field)) {
            return absent;
        }
        JsonNode v = body.get(field);
        if (!v.isBoolean()) {
            throw ApiException.invalid(field, "'" + field + "' must be true or false, got " + describe(v));
        }
        return v.asBoolean();
    }

    /** An integer in {@code [min, max]}. */
    static long integer(JsonNode body, String field, long absent, long min, long max) {
        if (!present(body, field)) {
            return absent;
        }
        JsonNode v = body.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(field, "'" + field + "' must be an integer, got " + describe(v));
        }
        long value = v.asLong();
        if (value < min || value > max) {
            throw ApiException.invalid(field, "'" + field + "' must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    /** A number in {@code [min, max]} ({@code minExclusive}: strictly above {@code min}). */
    static double number(JsonNode body, String field, double absent, double min, boolean minExclusive, double max) {
        if (!present(body, field)) {
            return absent;
        }
        JsonNode v = body.get(field);
        if (!v.isNumber()) {
            throw ApiException.invalid(field, "'" + field + "' must be a number, got " + describe(v));
        }
        double value = v.asDouble();
        boolean aboveMin = minExclusive ? value > min : value >= min;
        if (!aboveMin || value > max) {
            throw ApiException.invalid(field, "'" + field + "' must be " + (minExclusive ? "> " : ">= ") + min + " and <= " + max
                    + ", got " + value);
        }
        return value;
    }

    /** The JSON type of {@code v} and, for short scalars, its value: for messages that say what was sent. */
    static String describe(JsonNode v) {
        String text = v.toString();
        String type = switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
        return v.isContainerNode() || text.length() > 40 ? type : type + " (" + text + ")";
    }
}
