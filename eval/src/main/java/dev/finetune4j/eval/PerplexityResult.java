package dev.finetune4j.eval;

import java.util.List;

/**
 * Corpus perplexity and per-document negative log-likelihoods.
 *
 * @param perplexity {@code exp(nll / tokens)} over the corpus
 * @param nll        summed negative log-likelihood (natural log) of all scored tokens
 * @param tokens     number of scored tokens (see {@link Perplexity} for which tokens are scored)
 * @param documents  per-document results, in input order
 */
public record PerplexityResult(double perplexity, double nll, long tokens, List<DocumentNll> documents) {
    /** Defensive copy. */
    public PerplexityResult {
        documents = List.copyOf(documents);
    }

    /**
     * Mean negative log-likelihood per token (the cross-entropy loss).
     *
     * @return {@code nll / tokens}, NaN when no token was scored
     */
    public double meanNll() {
        return tokens == 0 ? Double.NaN : nll / tokens;
    }

    /**
     * One document's result.
     *
     * @param nll    summed negative log-likelihood of its scored tokens
     * @param tokens scored tokens
     */
    public record DocumentNll(double nll, long tokens) {
        /**
         * This document's own perplexity.
         *
         * @return {@code exp(nll / tokens)}, NaN when no token was scored
         */
        public double perplexity() {
            return tokens == 0 ? Double.NaN : Math.exp(nll / tokens);
        }
    }
}
