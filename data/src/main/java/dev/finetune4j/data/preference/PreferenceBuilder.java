package dev.finetune4j.data.preference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns feedback logs into (prompt, chosen, rejected) pairs.
 *
 * <ul>
 *   <li>Thumbs votes: per response, each rater's latest vote counts; its score is ups minus downs. Every pair of
 *   responses to the same prompt with different scores is a candidate, the higher one chosen, margin = the
 *   difference.</li>
 *   <li>Pick-the-best sessions: each session says "chosen beats each other candidate". Over all raters, the
 *   majority direction of each pair wins; margin = wins minus losses; an even count is a tie and is dropped.</li>
 * </ul>
 * Pairs are deduplicated (one per prompt and unordered pair of responses; when both sources speak about the same
 * pair their net votes are added) and kept when the margin reaches {@code minMargin}. Not thread-safe.
 */
public final class PreferenceBuilder {
    private final int minMargin;
    private final VoteTally votes = new VoteTally();
    /** prompt -> [a, b] with a < b -> net wins of a over b. */
    private final Map<String, Map<List<String>, Integer>> duels = new LinkedHashMap<>();
    private final Map<String, Long> events = new HashMap<>();

    /**
     * A builder that keeps pairs with at least {@code minMargin} net votes.
     *
     * @param minMargin the smallest net vote difference a pair needs (at least 1)
     */
    public PreferenceBuilder(int minMargin) {
        if (minMargin < 1) {
            throw new IllegalArgumentException("minMargin must be >= 1 (0 would keep ties), found " + minMargin);
        }
        this.minMargin = minMargin;
    }

    /**
     * Adds feedback events.
     *
     * @param feedback votes and pick-the-best sessions, in any order
     * @return this builder
     */
    public PreferenceBuilder add(Iterable<? extends Feedback> feedback) {
        for (Feedback f : feedback) {
            events.merge(f.prompt(), 1L, Long::sum);
            switch (f) {
                case Feedback.Vote v -> votes.add(v);
                case Feedback.PickBest p -> {
                    String winner = p.candidates().get(p.chosen());
                    p.candidates().stream().distinct().filter(c -> !c.equals(winner))
                            .forEach(loser -> duel(p.prompt(), winner, loser, 1));
                }
            }
        }
        return this;
    }

    private void duel(String prompt, String winner, String loser, int weight) {
        boolean ordered = winner.compareTo(loser) < 0;
        List<String> key = ordered ? List.of(winner, loser) : List.of(loser, winner);
        duels.computeIfAbsent(prompt, k -> new LinkedHashMap<>()).merge(key, ordered ? weight : -weight, Integer::sum);
    }

    /**
     * The result of building.
     *
     * @param pairs     kept pairs, in prompt order
     * @param perPrompt statistics per prompt
     * @param overall   statistics over all prompts
     */
    public record Result(List<PreferencePair> pairs, Map<String, PreferenceStats> perPrompt, PreferenceStats overall) {
    }

    /**
     * Builds the pairs from everything added.
     *
     * @return the pairs and what was left out
     */
    public Result build() {
        votes.scores().forEach((prompt, byResponse) -> {
            List<Map.Entry<String, Integer>> scored = List.copyOf(byResponse.entrySet());
            for (int i = 0; i < scored.size(); i++) {
                for (int j = i + 1; j < scored.size(); j++) {
                    var a = scored.get(i);
                    var b = scored.get(j);
                    duel(prompt, a.getKey(), b.getKey(), a.getValue() - b.getValue());
                }
            }
        });
        List<PreferencePair> pairs = new ArrayList<>();
        Map<String, PreferenceStats> perPrompt = new TreeMap<>();
        PreferenceStats overall = PreferenceStats.ZERO;
        for (String prompt : events.keySet().stream().sorted().toList()) {
            long candidates = 0;
            long ties = 0;
            long below = 0;
            long kept = 0;
            for (var e : duels.getOrDefault(prompt, Map.of()).entrySet()) {
                candidates++;
                int net = e.getValue();
                if (net == 0) {
                    ties++;
                } else if (Math.abs(net) < minMargin) {
                    below++;
                } else {
                    kept++;
                    String a = e.getKey().get(0);
                    String b = e.getKey().get(1);
                    pairs.add(net > 0 ? new PreferencePair(prompt, a, b, net) : new PreferencePair(prompt, b, a, -net));
                }
            }
            PreferenceStats s = new PreferenceStats(events.get(prompt), candidates, ties, below, kept);
            perPrompt.put(prompt, s);
            overall = overall.plus(s);
        }
        return new Result(pairs, perPrompt, overall);
    }
}
