package dev.finetune4j.data.preference;

import java.io.Serializable;

/**
 * Counts of an {@link UnpairedBuilder} for one prompt or for all of them.
 *
 * @param events      feedback events seen
 * @param responses   responses with at least one vote or pick-the-best session
 * @param ties        responses dropped because their net vote was 0
 * @param belowMargin responses dropped because their net vote was under the minimum (in size)
 * @param desirable   rows kept as desirable
 * @param undesirable rows kept as undesirable
 */
public record UnpairedStats(long events, long responses, long ties, long belowMargin, long desirable, long undesirable)
        implements Serializable {
    static final UnpairedStats ZERO = new UnpairedStats(0, 0, 0, 0, 0, 0);

    /**
     * The sum of two counts (of two prompts, or of a prompt and the ones before).
     *
     * @param o the other counts
     * @return the field-wise sum
     */
    public UnpairedStats plus(UnpairedStats o) {
        return new UnpairedStats(events + o.events, responses + o.responses, ties + o.ties, belowMargin + o.belowMargin,
                desirable + o.desirable, undesirable + o.undesirable);
    }
}
