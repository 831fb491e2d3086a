package dev.finetune4j.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Domain Relevance Score (DRS), in [0, 1], of model outputs against a domain reference corpus and an
 * optional general background corpus. Two scorers:
 * <ul>
 *   <li><b>lexical</b>: {@code DRS(x) = sigmoid(mean over the terms t of x of ln P_D(t) - ln P_B(t))}, with
 *   add-alpha smoothed term probabilities of the domain (D) and background (B) corpora; terms are lowercased
 *   words and, for CJK text, characters and character bigrams; terms seen in neither corpus weigh
 *   {@code -ln 2}; without a background corpus P_B is uniform. 0.5 means "as typical of general text as of
 *   the domain". Details: {@link LexicalRelevance}.</li>
 *   <li><b>embedding</b>: {@code DRS(x) = clamp((cos(e(x), c_D) - L_B) / (L_D - L_B), 0, 1)} with c_D the
 *   centroid of the domain embeddings and L_D, L_B the mean similarities of the domain and background
 *   corpora to it, so typical domain text scores 1 and typical general text 0. Embeddings come from any
 *   {@link TextEmbedder}: an ONNX sentence encoder ({@code eval.onnx.OnnxSentenceEncoder}) or our own
 *   models' mean-pooled hidden states.</li>
 * </ul>
 * The corpus DRS is the mean over outputs with a percentile bootstrap 95% interval.
 *
 * <pre>{@code
 * RelevanceScorer drs = DomainRelevance.lexical(bankingFaq, wikipediaSample);
 * CorpusRelevance c = DomainRelevance.corpusScore(drs, modelOutputs);   // c.mean(), c.low(), c.high()
 * }</pre>
 *
 * <p>Stateless and thread-safe; the scorers are immutable.
 */
public final class DomainRelevance {
    /** Default add-alpha smoothing of the lexical scorer. */
    public static final double DEFAULT_ALPHA = 1.0;
    /** Default weight of a term seen in neither corpus: each such term halves the odds. */
    public static final double DEFAULT_UNKNOWN_TERM_WEIGHT = -Math.log(2);
    /** Bootstrap resamples of {@link #corpusScore(RelevanceScorer, List)}. */
    public static final int DEFAULT_BOOTSTRAP = 1000;

    private DomainRelevance() {
    }

    /**
     * The lexical scorer with default smoothing; {@code background} may be null or empty.
     *
     * @param domain in-domain texts the language model of the domain is estimated from
     * @param background general texts to contrast with, or null or empty for none
     * @return a scorer of texts in [0, 1]
     */
    public static RelevanceScorer lexical(List<String> domain, List<String> background) {
        return lexical(domain, background, DEFAULT_ALPHA, DEFAULT_UNKNOWN_TERM_WEIGHT);
    }

    /**
     * The lexical scorer with explicit smoothing {@code alpha > 0} and unknown-term weight ({@code <= 0}).
     *
     * @param domain in-domain texts the language model of the domain is estimated from
     * @param background general texts to contrast with, or null or empty for none
     * @param alpha additive smoothing of the term counts, {@code > 0}
     * @param unknownTermWeight weight of a term seen in neither corpus, {@code <= 0}
     * @return a scorer of texts in [0, 1]
     */
    public static RelevanceScorer lexical(List<String> domain, List<String> background, double alpha, double unknownTermWeight) {
        if (!(alpha > 0) || !(unknownTermWeight <= 0)) {
            throw new IllegalArgumentException("need alpha > 0 and unknownTermWeight <= 0, got " + alpha + " and " + unknownTermWeight);
        }
        return new LexicalRelevance(domain, background, alpha, unknownTermWeight);
    }

    /**
     * The embedding scorer; {@code background} may be null or empty (then L_B = 0).
     *
     * @param embedder turns texts into vectors
     * @param domain in-domain texts whose embeddings define the domain
     * @param background general texts to contrast with, or null or empty for none
     * @return a scorer of texts in [0, 1]
     */
    public static RelevanceScorer embedding(TextEmbedder embedder, List<String> domain, List<String> background) {
        return new EmbeddingRelevance(embedder, domain, background);
    }

    /**
     * Corpus DRS with a 1000-resample bootstrap interval, seed 0.
     *
     * @param scorer scores each output
     * @param outputs the model outputs to score, at least one
     * @return the mean score with its bootstrap interval
     */
    public static CorpusRelevance corpusScore(RelevanceScorer scorer, List<String> outputs) {
        return corpusScore(scorer, outputs, DEFAULT_BOOTSTRAP, 0L);
    }

    /**
     * Corpus DRS with {@code resamples} bootstrap resamples drawn from a generator seeded with {@code seed}.
     *
     * @param scorer scores each output
     * @param outputs the model outputs to score, at least one
     * @param resamples number of bootstrap resamples, at least 1
     * @param seed seed of the resampling generator, for reproducible intervals
     * @return the mean score with its bootstrap interval
     */
    public static CorpusRelevance corpusScore(RelevanceScorer scorer, List<String> outputs, int resamples, long seed) {
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("no outputs to score");
        }
        if (resamples < 1) {
            throw new IllegalArgumentException("resamples must be >= 1, got " + resamples);
        }
        double[] scores = scorer.scoreAll(outputs);
        int n = scores.length;
        double mean = Arrays.stream(scores).sum() / n;
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += scores[random.nextInt(n)];
            }
            means[r] = sum / n;
        }
        Arrays.sort(means);
        List<Double> perText = new ArrayList<>(n);
        for (double s : scores) {
            perText.add(s);
        }
        return new CorpusRelevance(mean, percentile(means, 0.025), percentile(means, 0.975), perText);
    }

    /** Linear-interpolated percentile of sorted values (NumPy's default method). */
    static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /**
     * ROC AUC of scores for positive versus negative examples (the probability that a random positive
     * outscores a random negative, ties counting half): how well a scorer separates in-domain from
     * out-of-domain text. Time {@code O((P + N) log N)}: each positive counts the negatives below and equal to
     * it by binary search in the sorted negatives (comparing every pair took a minute for 100,000 of each).
     *
     * @param positives scores of in-domain examples, at least one, none NaN
     * @param negatives scores of out-of-domain examples, at least one, none NaN
     * @return the AUC in [0, 1]; 0.5 is chance
     */
    public static double rocAuc(double[] positives, double[] negatives) {
        if (positives.length == 0 || negatives.length == 0) {
            throw new IllegalArgumentException("ROC AUC needs positives and negatives, got " + positives.length + " and " + negatives.length);
        }
        checkScores(positives, "positives");
        checkScores(negatives, "negatives");
        double[] sorted = new double[negatives.length];
        for (int i = 0; i < sorted.length; i++) {
            // NOTE: + 0.0 turns -0.0 into 0.0: the sort orders them, but as scores they tie
            sorted[i] = negatives[i] + 0.0;
        }
        Arrays.sort(sorted);
        double wins = 0;
        for (double p : positives) {
            long below = countBelow(sorted, p + 0.0, false);
            long belowOrEqual = countBelow(sorted, p + 0.0, true);
            wins += below + 0.5 * (belowOrEqual - below);
        }
        return wins / ((double) positives.length * negatives.length);
    }

    private static void checkScores(double[] scores, String name) {
        for (int i = 0; i < scores.length; i++) {
            if (Double.isNaN(scores[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is NaN; score every example or leave it out");
            }
        }
    }

    /** How many values of {@code sorted} are below {@code v} (or equal to it, when {@code inclusive}). */
    private static int countBelow(double[] sorted, double v, boolean inclusive) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < v || (inclusive && sorted[mid] == v)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
