package dev.finetune4j.data.preference;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Thumbs votes by prompt and response under the one rule both builders share ({@link PreferenceBuilder} for pairs,
 * {@link UnpairedBuilder} for KTO rows): each rater's latest vote on a response counts (an equal time keeps the
 * vote seen first), and a response's score is its ups minus its downs. Not thread-safe.
 */
final class VoteTally {
    /** prompt -> response -> rater -> latest vote. */
    private final Map<String, Map<String, Map<String, Feedback.Vote>>> votes = new LinkedHashMap<>();

    /** Counts {@code v}, replacing the rater's earlier vote on the same response. */
    void add(Feedback.Vote v) {
        votes.computeIfAbsent(v.prompt(), k -> new LinkedHashMap<>())
                .computeIfAbsent(v.response(), k -> new HashMap<>())
                .merge(v.rater(), v, (old, nu) -> nu.time().isBefore(old.time()) ? old : nu);
    }

    /** prompt -> response -> net score, prompts and responses in the order of their first vote. */
    Map<String, Map<String, Integer>> scores() {
        Map<String, Map<String, Integer>> out = new LinkedHashMap<>();
        votes.forEach((prompt, byResponse) -> {
            Map<String, Integer> scored = new LinkedHashMap<>();
            byResponse.forEach((response, byRater) -> scored.put(response,
                    byRater.values().stream().mapToInt(v -> v.up() ? 1 : -1).sum()));
            out.put(prompt, scored);
        });
        return out;
    }
}
