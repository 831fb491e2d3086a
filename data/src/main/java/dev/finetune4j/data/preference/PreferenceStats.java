package dev.finetune4j.data.preference;

import java.io.Serializable;

/**
 * Counts for one prompt or for all of them.
 *
 * @param events         feedback events seen
 * @param candidatePairs compared (response, response) pairs before filtering
 * @param ties           pairs dropped because the votes were even
 * @param belowMargin    pairs dropped because the margin was under the minimum
 * @param pairs          pairs kept
 */
public record PreferenceStats(long events, long candidatePairs, long ties, long belowMargin, long pairs) implements Serializable {
    static final PreferenceStats ZERO = new PreferenceStats(0, 0, 0, 0, 0);

    /**
     * The sum of two counts (of two prompts, or of a prompt and the ones before).
     *
     * @param o the other counts
     * @return the field-wise sum
     */
    public PreferenceStats plus(PreferenceStats o) {
        return new PreferenceStats(events + o.events, candidatePairs + o.candidatePairs, ties + o.ties,
                belowMargin + o.belowMargin, pairs + o.pairs);
    }
}
