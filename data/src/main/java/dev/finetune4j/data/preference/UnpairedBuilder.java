package dev.finetune4j.data.preference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns feedback logs into unpaired rows for KTO: each rated response once, desirable or undesirable by its net vote.
 * Unlike {@link PreferenceBuilder}, a response needs no differently rated answer to the same prompt.
 *
 * <ul>
 *   <li>Thumbs votes: as for pairs, each rater's latest vote on a response counts, up +1 and down -1.</li>
 *   <li>Pick-the-best sessions: each session is an up for its pick and a down for each other candidate it showed
 *   (so one session makes the pick desirable and the others undesirable), added to the response's votes.</li>
 * </ul>
 * A response with a positive net vote is desirable, a negative one undesirable; a net vote of 0 is a tie and is
 * dropped, as is one whose size is under {@code minNetVotes}. Rows come in prompt order (sorted), each prompt's
 * responses in the order they were first rated. Not thread-safe.
 */
public final class UnpairedBuilder {
    private final int minNetVotes;
    private final VoteTally votes = new VoteTally();
    /** prompt -> response -> net picks (sessions that chose it minus sessions that showed it and chose another). */
    private final Map<String, Map<String, Integer>> picks = new LinkedHashMap<>();
    private final Map<String, Long> events = new HashMap<>();

    /**
     * A builder that keeps responses whose net vote is at least {@code minNetVotes} in size.
     *
     * @param minNetVotes the smallest |ups - downs| a response needs (at least 1)
     */
    public UnpairedBuilder(int minNetVotes) {
        if (minNetVotes < 1) {
            throw new IllegalArgumentException("minNetVotes must be >= 1 (0 would keep ties), found " + minNetVotes);
        }
        this.minNetVotes = minNetVotes;
    }

    /**
     * Adds feedback events.
     *
     * @param feedback votes and pick-the-best sessions, in any order
     * @return this builder
     */
    public UnpairedBuilder add(Iterable<? extends Feedback> feedback) {
        for (Feedback f : feedback) {
            events.merge(f.prompt(), 1L, Long::sum);
            switch (f) {
                case Feedback.Vote v -> votes.add(v);
                case Feedback.PickBest p -> {
                    String winner = p.candidates().get(p.chosen());
                    Map<String, Integer> byResponse = picks.computeIfAbsent(p.prompt(), k -> new LinkedHashMap<>());
                    p.candidates().stream().distinct()
                            .forEach(c -> byResponse.merge(c, c.equals(winner) ? 1 : -1, Integer::sum));
                }
            }
        }
        return this;
    }

    /**
     * The result of building.
     *
     * @param rows      kept rows, in prompt order
     * @param perPrompt statistics per prompt
     * @param overall   statistics over all prompts
     */
    public record Result(List<UnpairedPreference> rows, Map<String, UnpairedStats> perPrompt, UnpairedStats overall) {
    }

    /**
     * Builds the rows from everything added.
     *
     * @return the rows and what was left out
     */
    public Result build() {
        Map<String, Map<String, Integer>> net = votes.scores();
        picks.forEach((prompt, byResponse) -> byResponse.forEach((response, n) ->
                net.computeIfAbsent(prompt, k -> new LinkedHashMap<>()).merge(response, n, Integer::sum)));
        List<UnpairedPreference> rows = new ArrayList<>();
        Map<String, UnpairedStats> perPrompt = new TreeMap<>();
        UnpairedStats overall = UnpairedStats.ZERO;
        for (String prompt : events.keySet().stream().sorted().toList()) {
            Map<String, Integer> byResponse = net.getOrDefault(prompt, Map.of());
            long ties = 0;
            long below = 0;
            long desirable = 0;
            long undesirable = 0;
            for (var e : byResponse.entrySet()) {
                int n = e.getValue();
                if (n == 0) {
                    ties++;
                } else if (Math.abs(n) < minNetVotes) {
                    below++;
                } else {
                    rows.add(new UnpairedPreference(prompt, e.getKey(), n > 0, n));
                    desirable += n > 0 ? 1 : 0;
                    undesirable += n < 0 ? 1 : 0;
                }
            }
            UnpairedStats s = new UnpairedStats(events.get(prompt), byResponse.size(), ties, below, desirable, undesirable);
            perPrompt.put(prompt, s);
            overall = overall.plus(s);
        }
        return new Result(rows, perPrompt, overall);
    }
}
