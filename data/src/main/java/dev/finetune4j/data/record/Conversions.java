package dev.finetune4j.data.record;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts records between {@link Schema}s. Conversions that would have to invent content (plain text to
 * preference, for example) throw {@link IllegalArgumentException}.
 *
 * <p>All conversions go through one neutral form, a list of (role, content) turns with roles {@code system},
 * {@code user} and {@code assistant}, so that every pair of schemas is covered without a method per pair.
 */
public final class Conversions {
    private static final Map<String, String> SHAREGPT_TO_ROLE =
            Map.of("human", "user", "user", "user", "gpt", "assistant", "assistant", "assistant", "system", "system");
    private static final Map<String, String> ROLE_TO_SHAREGPT =
            Map.of("user", "human", "assistant", "gpt", "system", "system");

    private Conversions() {
    }

    /** One turn of a conversation in the neutral form. */
    public record Turn(String role, String content) {
    }

    /** Converts {@code record} to {@code target}, keeping its id, source, metadata and unrelated fields. */
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

    /** The conversation of a record in neutral form. */
    public static List<Turn> toTurns(Map<String, Object> f, Schema from) {
        List<Turn> turns = new ArrayList<>();
        switch (from) {
            case TEXT -> turns.add(new Turn("assistant", (String) f.get("text")));
            case ALPACA -> {
                String input = (String) f.getOrDefault("input", "");
                String instruction = (String) f.get("instruction");
                turns.add(new Turn("user", input.isEmpty() ? instruction : instruction + "\n" + input));
                turns.add(new Turn("assistant", (String) f.get("output")));
            }
            case PREFERENCE -> {
                turns.add(new Turn("user", (String) f.get("prompt")));
                turns.add(new Turn("assistant", (String) f.get("chosen")));
            }
            case OPENAI -> ((List<?>) f.get("messages")).forEach(m -> {
                Map<?, ?> t = (Map<?, ?>) m;
                turns.add(new Turn((String) t.get("role"), (String) t.get("content")));
            });
            case SHAREGPT -> ((List<?>) f.get("conversations")).forEach(m -> {
                Map<?, ?> t = (Map<?, ?>) m;
                String from2 = (String) t.get("from");
                turns.add(new Turn(SHAREGPT_TO_ROLE.getOrDefault(from2, from2), (String) t.get("value")));
            });
        }
        return turns;
    }

    private static Map<String, Object> fromTurns(List<Turn> turns, Schema target) {
        Map<String, Object> out = new LinkedHashMap<>();
        switch (target) {
            case TEXT -> out.put("text", String.join("\n", turns.stream().map(Turn::content).toList()));
            case ALPACA -> {
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
