package dev.finetune4j.data.preference;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One preference: {@code chosen} beats {@code rejected} for {@code prompt}, by {@code margin} net votes.
 *
 * @param prompt the prompt both answers respond to
 * @param chosen the preferred answer
 * @param rejected the answer it beat
 * @param margin net votes for {@code chosen} over {@code rejected}, at least the builder's minimum margin
 */
public record PreferencePair(String prompt, String chosen, String rejected, int margin) implements Serializable {
    /**
     * TRL's DPO format: {@code {"prompt", "chosen", "rejected"}} as plain strings.
     *
     * @return a new map with the keys {@code prompt}, {@code chosen} and {@code rejected}
     */
    public Map<String, Object> toTrl() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt", prompt);
        m.put("chosen", chosen);
        m.put("rejected", rejected);
        return m;
    }

    /**
     * Conversational form: {@code chosen} and {@code rejected} are user + assistant message lists.
     *
     * @return a new map with the keys {@code chosen} and {@code rejected}
     */
    public Map<String, Object> toMessages() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("chosen", conversation(chosen));
        m.put("rejected", conversation(rejected));
        return m;
    }

    private List<Map<String, String>> conversation(String answer) {
        return List.of(turn("user", prompt), turn("assistant", answer));
    }

    private static Map<String, String> turn(String role, String content) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
