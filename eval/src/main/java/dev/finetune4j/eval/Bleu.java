package dev.finetune4j.eval;

import dev.finetune4j.eval.text.NgramMatcher;
import dev.finetune4j.eval.text.PyText;
import dev.finetune4j.eval.text.SacreTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * BLEU identical to sacreBLEU 2.6's {@code BLEU} metric: the same tokenizers, lowercasing, smoothing
 * methods, effective order, closest-reference length and multi-reference clipping, so corpus and sentence
 * scores equal sacreBLEU's to floating-point rounding.
 *
 * <pre>{@code
 * Bleu bleu = Bleu.builder().tokenize("13a").smoothMethod("exp").build();
 * BleuScore corpus = bleu.corpusScore(hypotheses, List.of(references));   // one reference stream
 * double s = Bleu.builder().effectiveOrder(true).build().sentenceScore(hyp, List.of(ref)).score();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe; corpus scores count segments in parallel.
 */
public final class Bleu {
    /** sacreBLEU version whose behaviour and signature format this class reproduces. */
    public static final String SACREBLEU_VERSION = "2.6.0";

    private final SacreTokenizer tokenizer;
    private final boolean lowercase;
    private final SmoothMethod smoothMethod;
    private final double smoothValue;
    private final boolean effectiveOrder;
    private final int maxNgramOrder;

    private Bleu(Builder b) {
        this.tokenizer = b.tokenizer;
        this.lowercase = b.lowercase;
        this.smoothMethod = b.smoothMethod;
        this.smoothValue = Double.isNaN(b.smoothValue) ? b.smoothMethod.defaultValue() : b.smoothValue;
        this.effectiveOrder = b.effectiveOrder;
        this.maxNgramOrder = b.maxNgramOrder;
    }

    /**
     * A builder with sacreBLEU's defaults: 13a, mixed case, exp smoothing, no effective order, order 4.
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Corpus BLEU.
     *
     * @param hypotheses       one hypothesis per segment
     * @param referenceStreams {@code referenceStreams.get(k).get(i)} is the k-th reference of segment i; a
     *                         {@code null} entry means segment i has fewer references
     * @return the corpus score with its n-gram precisions, brevity penalty and signature
     */
    public BleuScore corpusScore(List<String> hypotheses, List<List<String>> referenceStreams) {
        List<List<String>> refsBySegment = Segments.transpose(hypotheses, referenceStreams, "Bleu.corpusScore");
        long[][] perSegment = IntStream.range(0, hypotheses.size()).parallel()
                .mapToObj(i -> segmentStatistics(hypotheses.get(i), refsBySegment.get(i)))
                .toArray(long[][]::new);
        long[] sum = new long[2 + 2 * maxNgramOrder];
        for (long[] s : perSegment) {
            for (int k = 0; k < sum.length; k++) {
                sum[k] += s[k];
            }
        }
        return scoreFromStatistics(sum, Segments.signatureRefCount(refsBySegment));
    }

    /**
     * Sentence BLEU of one hypothesis against its references (sacreBLEU recommends {@code effectiveOrder(true)}).
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's reference translations, at least one
     * @return the BLEU score of this one segment
     */
    public BleuScore sentenceScore(String hypothesis, List<String> references) {
        List<String> refs = Segments.nonNull(references, "Bleu.sentenceScore");
        return scoreFromStatistics(segmentStatistics(hypothesis, refs), String.valueOf(refs.size()));
    }

    /**
     * The sufficient statistics of one segment, as sacreBLEU lays them out:
     * {@code [sysLen, refLen, correct_1..correct_N, total_1..total_N]}. Summing them over segments and
     * passing the sum to {@link #scoreFromStatistics} gives the corpus score (useful for bootstrap resampling).
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's reference translations, at least one
     * @return a new array of length {@code 2 + 2 * maxNgramOrder}
     */
    public long[] segmentStatistics(String hypothesis, List<String> references) {
        List<String> hypTokens = tokens(Segments.hypothesis(hypothesis, "Bleu"));
        List<List<String>> refTokens = new ArrayList<>(references.size());
        for (String r : references) {
            refTokens.add(tokens(r));
        }
        int[][] ids = NgramMatcher.wordIds(hypTokens, refTokens);
        NgramMatcher matcher = new NgramMatcher(ids[0], maxNgramOrder);
        int[] refMax = new int[matcher.idCount()];
        for (int k = 1; k < ids.length; k++) {
            NgramMatcher.maxInPlace(refMax, matcher.countsIn(ids[k]));
        }
        int n = maxNgramOrder;
        long[] stats = new long[2 + 2 * n];
        stats[0] = hypTokens.size();
        stats[1] = closestRefLength(hypTokens.size(), refTokens);
        for (int order = 1; order <= n; order++) {
            stats[1 + order] = matcher.clippedMatches(order, refMax);
            stats[1 + n + order] = matcher.hypTotal(order);
        }
        return stats;
    }

    private List<String> tokens(String segment) {
        String s = lowercase ? PyText.lower(segment) : segment;
        return tokenizer.tokens(PyText.rstrip(s));
    }

    /** Closest reference length; on a tie the shorter one (sacreBLEU's {@code _get_closest_ref_len}). */
    private static int closestRefLength(int hypLen, List<List<String>> refs) {
        int closestDiff = -1;
        int closestLen = -1;
        for (List<String> ref : refs) {
            int len = ref.size();
            int diff = Math.abs(hypLen - len);
            if (closestDiff == -1 || diff < closestDiff) {
                closestDiff = diff;
                closestLen = len;
            } else if (diff == closestDiff && len < closestLen) {
                closestLen = len;
            }
        }
        return closestLen;
    }

    /**
     * BLEU from summed statistics (see {@link #segmentStatistics}); sacreBLEU's {@code compute_bleu}.
     *
     * @param stats summed segment statistics, laid out as {@link #segmentStatistics} returns them
     * @param nrefs the reference count written into the signature ("1", "2", ... or "var")
     * @return the score of those statistics
     */
    public BleuScore scoreFromStatistics(long[] stats, String nrefs) {
        int n = maxNgramOrder;
        if (stats.length != 2 + 2 * n) {
            throw new IllegalArgumentException("expected " + (2 + 2 * n) + " statistics for max order " + n
                    + ", got " + stats.length);
        }
        long sysLen = stats[0];
        long refLen = stats[1];
        double[] correct = new double[n];
        double[] total = new double[n];
        boolean anyCorrect = false;
        for (int k = 0; k < n; k++) {
            correct[k] = stats[2 + k];
            total[k] = stats[2 + n + k];
            anyCorrect |= stats[2 + k] != 0;
        }
        double bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1.0 - (double) refLen / sysLen) : 0.0) : 1.0;
        double[] precisions = new double[n];
        String signature = signature(nrefs);
        if (!anyCorrect) {
            return score(0.0, correct, total, precisions, bp, sysLen, refLen, signature);
        }
        double smoothMteval = 1.0;
        int effOrder = n;
        for (int k = 1; k <= n; k++) {
            if (smoothMethod == SmoothMethod.ADD_K && k > 1) {
                correct[k - 1] += smoothValue;
                total[k - 1] += smoothValue;
            }
            if (total[k - 1] == 0) {
                break;
            }
            if (effectiveOrder) {
                effOrder = k;
            }
            if (correct[k - 1] == 0) {
                if (smoothMethod == SmoothMethod.EXP) {
                    smoothMteval *= 2;
                    precisions[k - 1] = 100.0 / (smoothMteval * total[k - 1]);
                } else if (smoothMethod == SmoothMethod.FLOOR) {
                    precisions[k - 1] = 100.0 * smoothValue / total[k - 1];
                }
            } else {
                precisions[k - 1] = 100.0 * correct[k - 1] / total[k - 1];
            }
        }
        double logSum = 0.0;
        for (int k = 0; k < effOrder; k++) {
            // NOTE: sacreBLEU's my_log maps log(0) to -9999999999 rather than -infinity.
            logSum += precisions[k] == 0.0 ? -9999999999.0 : Math.log(precisions[k]);
        }
        double score = bp * Math.exp(logSum / effOrder);
        return score(score, correct, total, precisions, bp, sysLen, refLen, signature);
    }

    private static BleuScore score(double score, double[] correct, double[] total, double[] precisions,
                                   double bp, long sysLen, long refLen, String signature) {
        return new BleuScore(score, Segments.boxed(correct), Segments.boxed(total), Segments.boxed(precisions),
                bp, sysLen, refLen, signature);
    }

    /**
     * sacreBLEU's signature for this configuration and a reference count ("1", "2", ... or "var").
     *
     * @param nrefs the reference count to write: "1", "2", ... or "var"
     * @return the signature, e.g. {@code nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0}
     */
    public String signature(String nrefs) {
        String smooth = smoothMethod.sacreName();
        if (smoothMethod.takesValue()) {
            smooth += String.format(Locale.ROOT, "[%.2f]", smoothValue);
        }
        return "nrefs:" + nrefs + "|case:" + (lowercase ? "lc" : "mixed") + "|eff:" + (effectiveOrder ? "yes" : "no")
                + "|tok:" + tokenizer.sacreName() + "|smooth:" + smooth + "|version:" + SACREBLEU_VERSION;
    }

    /** Builder of {@link Bleu}; names and defaults follow sacreBLEU's {@code BLEU(...)} arguments. */
    public static final class Builder {
        private SacreTokenizer tokenizer = SacreTokenizer.THIRTEEN_A;
        private boolean lowercase;
        private SmoothMethod smoothMethod = SmoothMethod.EXP;
        private double smoothValue = Double.NaN;
        private boolean effectiveOrder;
        private int maxNgramOrder = 4;

        private Builder() {
        }

        /**
         * Tokenizer by sacreBLEU name: {@code 13a} (default), {@code intl}, {@code zh}, {@code char}, {@code none}.
         *
         * @param name one of the names above
         * @return this builder
         */
        public Builder tokenize(String name) {
            this.tokenizer = SacreTokenizer.of(name);
            return this;
        }

        /**
         * Lowercases hypotheses and references before tokenizing (signature {@code case:lc}).
         *
         * @param lowercase true to compare case-insensitively (default false)
         * @return this builder
         */
        public Builder lowercase(boolean lowercase) {
            this.lowercase = lowercase;
            return this;
        }

        /**
         * Smoothing by sacreBLEU name: {@code exp} (default), {@code floor}, {@code add-k}, {@code none}.
         *
         * @param name one of the names above
         * @return this builder
         */
        public Builder smoothMethod(String name) {
            this.smoothMethod = SmoothMethod.of(name);
            return this;
        }

        /**
         * The value of {@code floor} (default 0.1) or {@code add-k} (default 1).
         *
         * @param value the smoothing value, used only by methods that take one
         * @return this builder
         */
        public Builder smoothValue(double value) {
            if (!(value >= 0)) {
                throw new IllegalArgumentException("smoothValue must be >= 0, got " + value);
            }
            this.smoothValue = value;
            return this;
        }

        /**
         * Averages only over the n-gram orders the hypothesis has (sacreBLEU's sentence-level setting).
         *
         * @param effectiveOrder true to use the effective order (default false)
         * @return this builder
         */
        public Builder effectiveOrder(boolean effectiveOrder) {
            this.effectiveOrder = effectiveOrder;
            return this;
        }

        /**
         * Largest n-gram order (default 4).
         *
         * @param order the largest n, at least 1
         * @return this builder
         */
        public Builder maxNgramOrder(int order) {
            if (order < 1) {
                throw new IllegalArgumentException("maxNgramOrder must be >= 1, got " + order);
            }
            this.maxNgramOrder = order;
            return this;
        }

        /**
         * Builds the immutable metric.
         *
         * @return the metric with this builder's settings
         */
        public Bleu build() {
            if (!Double.isNaN(smoothValue) && !smoothMethod.takesValue()) {
                throw new IllegalStateException("smoothValue " + smoothValue + " given but smoothing '"
                        + smoothMethod.sacreName() + "' takes no value; use 'floor' or 'add-k'");
            }
            return new Bleu(this);
        }
    }
}
