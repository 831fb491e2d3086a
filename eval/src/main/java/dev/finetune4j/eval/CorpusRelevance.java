package dev.finetune4j.eval;

import java.util.List;

/**
 * Corpus domain relevance: the mean of the per-text scores with a bootstrap 95% percentile interval.
 *
 * @param mean    mean DRS over the texts
 * @param low     2.5th percentile of the bootstrap means
 * @param high    97.5th percentile of the bootstrap means
 * @param perText each text's DRS, in input order
 */
public record CorpusRelevance(double mean, double low, double high, List<Double> perText) {
    /** Defensive copy. */
    public CorpusRelevance {
        perText = List.copyOf(perText);
    }
}
