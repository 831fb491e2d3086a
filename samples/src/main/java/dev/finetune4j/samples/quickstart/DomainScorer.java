package dev.finetune4j.samples.quickstart;

import java.util.List;

/**
 * Domain relevance of answers against the domain reference corpus (the training answers) and the general
 * background corpus.
 *
 * <p>NOTE: waits for {@code dev.finetune4j.eval.DomainRelevance}; until it lands every score is NaN and the
 * quickstart prints "n/a" for DRS.
 */
final class DomainScorer {
    /** A corpus DRS in [0, 1] with its bootstrap 95% interval. */
    record Score(double value, double low, double high) {
    }

    DomainScorer(List<String> domainCorpus, List<String> backgroundCorpus) {
    }

    Score score(List<String> answers) {
        return new Score(Double.NaN, Double.NaN, Double.NaN);
    }
}
