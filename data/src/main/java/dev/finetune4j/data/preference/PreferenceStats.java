package dev.finetune4j.data.preference;

/**
 * Counts for one prompt or for all of them.
 *
 * @param events         feedback events seen
 * @param candidatePairs compared (response, response) pairs before filtering
 * @param ties           pairs dropped because the votes were even
 * @param belowMargin    pairs dropped because the margin was under the minimum
 * @param pairs          pairs kept
 */
public record PreferenceStats(long events, long candidatePairs, long ties, long belowMargin, long pairs) {
    static final PreferenceStats ZERO = new PreferenceStats(0, 0, 0, 0, 0);

    PreferenceStats plus(PreferenceStats o) {
        return new PreferenceStats(events + o.events, candidatePairs + o.candidatePairs, ties + o.ties,
                belowMargin + o.belowMargin, pairs + o.pairs);
    }
}
