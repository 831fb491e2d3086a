package dev.finetune4j.data.preference;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Feedback events from a production log. */
public sealed interface Feedback extends Serializable {
    /**
     * The prompt the feedback is about.
     *
     * @return the prompt text
     */
    String prompt();

    /**
     * Who gave it.
     *
     * @return the rater's identifier
     */
    String rater();

    /**
     * A thumbs up ({@code up = true}) or down on one response. A rater's latest vote on a response counts.
     *
     * @param prompt the prompt the response answers
     * @param response the rated response
     * @param up true for thumbs up, false for thumbs down
     * @param rater who voted
     * @param time when the vote was cast (to keep the latest)
     */
    record Vote(String prompt, String response, boolean up, String rater, Instant time) implements Feedback {
        /** Checks that no component is null. */
        public Vote {
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(response, "response");
            Objects.requireNonNull(rater, "rater");
            Objects.requireNonNull(time, "time");
        }
    }

    /**
     * A pick-the-best session: the rater chose {@code candidates.get(chosen)} over every other candidate.
     *
     * @param prompt the prompt the candidates answer
     * @param candidates the answers shown to the rater, at least two
     * @param chosen the index of the rater's pick in {@code candidates}
     * @param rater who picked
     */
    record PickBest(String prompt, List<String> candidates, int chosen, String rater) implements Feedback {
        /** Copies the candidates and checks that {@code chosen} indexes one of them. */
        public PickBest {
            candidates = List.copyOf(candidates);
            if (chosen < 0 || chosen >= candidates.size()) {
                throw new IllegalArgumentException("chosen index " + chosen + " is outside the " + candidates.size()
                        + " candidates of prompt '" + prompt + "'");
            }
        }
    }
}
