package dev.finetune4j.data.record;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Converts records between {@link Schema}s. Conversions that would have to invent content (plain text to
 * preference, for example) throw {@link IllegalArgumentException}.
 *
 * <p>All conversions go through one neutral form, a list of (role, content) turns with roles {@code system},
 * {@code user} and {@code assistant}, so that every pair of schemas is covered without a method per pair. It is
 * also what a trainer takes: {@link #toTurns(Map)} is the one place that reads a training record's shape.
 */
public final class Conversions {
    /** ShareGPT and OpenAI role names (any case) to the neutral roles. */
    private static final Map<String, String> ROLES = Map.of("system", "system", "developer", "system",
            "user", "user", "human", "user",
            "assistant", "assistant", "gpt", "assistant", "model", "assistant", "chatgpt", "assistant");
    private static final Map<String, String> ROLE_TO_SHAREGPT =
            Map.of("user", "human", "assistant", "gpt", "system", "system");

    private Conversions() {
    }

    /**
     * One turn of a conversation in the neutral form.
     *
     * @param role {@code system}, {@code user} or {@code assistant}
     * @param content the turn's text
     */
    public record Turn(String role, String content) {
    }

    /**
     * Converts {@code record} to {@code target}, keeping its id, source, metadata and unrelated fields.
     *
     * @param record a record of a conversation schema or {@code text}
     * @param target the schema to convert to; not {@link Schema#PREFERENCE}
     * @return the converted record, or {@code record} itself when it already has schema {@code target}
     */
    public static Record convert(Record record, Schema target) {
        Schema from = Schema.detect(record.fields()).orElseThrow(() -> new IllegalArgumentException(
                "record " + record.id() + " has no known schema (fields " + record.fields().keySet() + ")"));
        if (from == target) {
            return record;
        }
        if (target == Schema.PREFERENCE || from == Schema.PREFERENCE && target != Schema.TEXT) {
            throw new IllegalArgumentException("cannot convert " + from + " to " + target
                    + ": preference records pair two answers; build them with dev.finetune4j.data.preference");
        }
        List<Turn> turns = toTurns(record.fields(), from);
        return record.withFields(fromTurns(turns, target));
    }

    /**
     * The conversation of a training record of any accepted shape in neutral form: alpaca ({@code instruction},
     * optional {@code input} joined to it by a blank line, {@code output}, optional {@code system}), ShareGPT
     * ({@code conversations} of {@code from}/{@code value}), OpenAI ({@code messages} of {@code role}/{@code
     * content}), a preference record's prompt and chosen answer, or plain {@code text} (one assistant turn).
     *
     * @param fields a record's fields
     * @return the turns in order
     * @throws IllegalArgumentException naming what was found and the accepted shapes, a missing or mistyped
     *                                  field, or a role that is not system, user or assistant under any name
     */
    public static List<Turn> toTurns(Map<String, Object> fields) {
        Schema schema = Schema.detect(fields).orElseThrow(() -> new IllegalArgumentException("has the fields "
                + fields.keySet() + ", none of the accepted shapes: alpaca (instruction, input, output), ShareGPT "
                + "(conversations of from/value), OpenAI (messages of role/content), preference (prompt, chosen, "
                + "rejected) or plain (text)"));
        return toTurns(fields, schema);
    }

    /**
     * The conversation of a record of schema {@code from} in neutral form.
     *
     * @param f a record's fields
     * @param from the schema the fields follow
     * @return the turns in order
     * @throws IllegalArgumentException when the record does not fit {@code from} or has a role no table knows
     */
    public static List<Turn> toTurns(Map<String, Object> f, Schema from) {
        from.validate(f).ifPresent(error -> {
            throw new IllegalArgumentException(from + " record: " + error);
        });
        List<Turn> turns = new ArrayList<>();
        switch (from) {
            case TEXT -> turns.add(new Turn("assistant", (String) f.get("text")));
            case ALPACA -> {
                if (f.get("system") instanceof String system) {
                    turns.add(new Turn("system", system));
                }
                String input = f.get("input") instanceof String s ? s : "";
                String instruction = (String) f.get("instruction");
                turns.add(new Turn("user", input.isBlank() ? instruction : instruction + "\n\n" + input));
                turns.add(new Turn("assistant", (String) f.get("output")));
            }
            case PREFERENCE -> {
                turns.add(new Turn("user", (String) f.get("prompt")));
                turns.add(new Turn("assistant", (String) f.get("chosen")));
            }
            case OPENAI -> addTurns(turns, (List<?>) f.get("messages"), "role", "content");
            case SHAREGPT -> addTurns(turns, (List<?>) f.get("conversations"), "from", "value");
        }
        return turns;
    }

    private static void addTurns(List<Turn> out, List<?> turns, String roleKey, String contentKey) {
        for (int i = 0; i < turns.size(); i++) {
            Map<?, ?> t = (Map<?, ?>) turns.get(i);
            String name = (String) t.get(roleKey);
            String role = ROLES.get(name.toLowerCase(Locale.ROOT));
            if (role == null) {
                throw new IllegalArgumentException("turn " + i + " has the role '" + name
                        + "'; use system/developer, user/human or assistant/gpt/model (tool turns are not supported)");
            }
            out.add(new Turn(role, (String) t.get(contentKey)));
        }
    }

    private static Map<String, Object> fromTurns(List<Turn> turns, Schema target) {
        Map<String, Object> out = new LinkedHashMap<>();
        switch (target) {
            case TEXT -> out.put("text", String.join("\n", turns.stream().map(Turn::content).toList()));
            case ALPACA -> {
                turns.stream().filter(t -> t.role().equals("system")).findFirst()
                        .ifPresent(t -> out.put("system", t.content()));
                out.put("instruction", firstOf(turns, "user"));
                out.put("input", "");
                out.put("output", firstOf(turns, "assistant"));
            }
            case OPENAI -> out.put("messages", turns.stream()
                    .map(t -> (Object) orderedMap("role", t.role(), "content", t.content())).toList());
            case SHAREGPT -> out.put("conversations", turns.stream().map(t -> (Object) orderedMap(
                    "from", ROLE_TO_SHAREGPT.getOrDefault(t.role(), t.role()), "value", t.content())).toList());
            case PREFERENCE -> throw new IllegalStateException("unreachable: checked by convert");
        }
        return out;
    }

    private static String firstOf(List<Turn> turns, String role) {
        return turns.stream().filter(t -> t.role().equals(role)).map(Turn::content).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("conversation has no '" + role + "' turn"));
    }

    private static Map<String, Object> orderedMap(String k1, Object v1, String k2, Object v2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }
}
