package dev.finetune4j.data.preference;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Feedback events from a production log. */
public sealed interface Feedback {
    /** The prompt the feedback is about. */
    String prompt();

    /** Who gave it. */
    String rater();

    /**
     * A thumbs up ({@code up = true}) or down on one response. A rater's latest vote on a response counts.
     *
     * @param time when the vote was cast (to keep the latest)
     */
    record Vote(String prompt, String response, boolean up, String rater, Instant time) implements Feedback {
        public Vote {
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(response, "response");
            Objects.requireNonNull(rater, "rater");
            Objects.requireNonNull(time, "time");
        }
    }

    /**
     * A pick-the-best session: the rater chose {@code candidates.get(chosen)} over every other candidate.
     */
    record PickBest(String prompt, List<String> candidates, int chosen, String rater) implements Feedback {
        public PickBest {
            candidates = List.copyOf(candidates);
            if (chosen < 0 || chosen >= candidates.size()) {
                throw new IllegalArgumentException("chosen index " + chosen + " is outside the " + candidates.size()
                        + " candidates of prompt '" + prompt + "'");
            }
        }
    }
}
