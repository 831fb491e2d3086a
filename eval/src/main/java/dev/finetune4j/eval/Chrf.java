package dev.finetune4j.eval;

import dev.finetune4j.eval.text.NgramMatcher;
import dev.finetune4j.eval.text.PyText;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * chrF and chrF++ identical to sacreBLEU 2.6's {@code CHRF}: character n-grams of the text without
 * whitespace (orders 1..{@code charOrder}), optionally word n-grams after splitting one leading or trailing
 * ASCII punctuation mark off each word (orders 1..{@code wordOrder}); per segment the reference with the best
 * F-score is kept; the corpus score is the F-beta of the precision and recall averaged over the orders that
 * have both hypothesis and reference n-grams (sacreBLEU's "effective order"), or with {@code epsSmoothing}
 * the chrF++.py style average of per-order F-scores.
 *
 * <pre>{@code
 * double chrf = Chrf.builder().build().corpusScore(hyps, List.of(refs)).score();
 * double chrfPlusPlus = Chrf.builder().wordOrder(2).build().corpusScore(hyps, List.of(refs)).score();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe; corpus scores count segments in parallel.
 */
public final class Chrf {
    private static final double EPS = 1e-16;
    private static final String PUNCTS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private final int charOrder;
    private final int wordOrder;
    private final int beta;
    private final boolean lowercase;
    private final boolean whitespace;
    private final boolean epsSmoothing;

    private Chrf(Builder b) {
        this.charOrder = b.charOrder;
        this.wordOrder = b.wordOrder;
        this.beta = b.beta;
        this.lowercase = b.lowercase;
        this.whitespace = b.whitespace;
        this.epsSmoothing = b.epsSmoothing;
    }

    /**
     * A builder with sacreBLEU's defaults: char order 6, word order 0, beta 2, mixed case, no whitespace.
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Corpus chrF; {@code referenceStreams.get(k).get(i)} is the k-th reference of segment i (null: none).
     *
     * @param hypotheses one system output per segment
     * @param referenceStreams reference streams of the same length as {@code hypotheses}
     * @return the corpus chrF score and signature
     */
    public ChrfScore corpusScore(List<String> hypotheses, List<List<String>> referenceStreams) {
        List<List<String>> refs = Segments.transpose(hypotheses, referenceStreams, "Chrf.corpusScore");
        long[][] perSegment = IntStream.range(0, hypotheses.size()).parallel()
                .mapToObj(i -> segmentStatistics(hypotheses.get(i), refs.get(i)))
                .toArray(long[][]::new);
        long[] sum = new long[3 * (charOrder + wordOrder)];
        for (long[] s : perSegment) {
            for (int k = 0; k < sum.length; k++) {
                sum[k] += s[k];
            }
        }
        return score(sum, Segments.signatureRefCount(refs));
    }

    /**
     * Sentence chrF of one hypothesis against its references.
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's references, at least one
     * @return the chrF score of this one segment
     */
    public ChrfScore sentenceScore(String hypothesis, List<String> references) {
        List<String> refs = Segments.nonNull(references, "Chrf.sentenceScore");
        return score(segmentStatistics(hypothesis, refs), String.valueOf(refs.size()));
    }

    /**
     * The statistics of one segment against its best reference: {@code [hyp, ref, match]} for every
     * character order, then every word order. Sums of these give the corpus score through {@link #score}.
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's references, at least one
     * @return a new array of {@code 3 * (charOrder + wordOrder)} counts
     */
    public long[] segmentStatistics(String hypothesis, List<String> references) {
        String hyp = preprocess(Segments.hypothesis(hypothesis, "Chrf"));
        int[] hypChars = chars(hyp);
        NgramMatcher hypCharGrams = new NgramMatcher(hypChars, charOrder);
        List<String> hypWords = wordOrder > 0 ? splitPunctuation(hyp) : List.of();
        List<List<String>> refWords = new ArrayList<>();
        List<int[]> refChars = new ArrayList<>();
        for (String r : references) {
            String ref = preprocess(r);
            refChars.add(chars(ref));
            refWords.add(wordOrder > 0 ? splitPunctuation(ref) : List.of());
        }
        int[][] wordIds = NgramMatcher.wordIds(hypWords, refWords);
        NgramMatcher hypWordGrams = wordOrder > 0 ? new NgramMatcher(wordIds[0], wordOrder) : null;
        long[] best = null;
        double bestF = -1.0;
        for (int k = 0; k < references.size(); k++) {
            long[] stats = new long[3 * (charOrder + wordOrder)];
            fill(stats, 0, hypCharGrams, refChars.get(k), charOrder);
            if (hypWordGrams != null) {
                fill(stats, charOrder, hypWordGrams, wordIds[k + 1], wordOrder);
            }
            double f = fScore(stats);
            if (f > bestF) {
                bestF = f;
                best = stats;
            }
        }
        return best;
    }

    private static void fill(long[] stats, int firstOrder, NgramMatcher hyp, int[] ref, int maxOrder) {
        int[] refCounts = hyp.countsIn(ref);
        for (int n = 1; n <= maxOrder; n++) {
            int refTotal = Math.max(0, ref.length - n + 1);
            int at = 3 * (firstOrder + n - 1);
            // sacreBLEU: "Don't count hits if no reference exists for that n-gram".
            stats[at] = refTotal > 0 ? hyp.hypTotal(n) : 0;
            stats[at + 1] = refTotal;
            stats[at + 2] = hyp.clippedMatches(n, refCounts);
        }
    }

    private String preprocess(String s) {
        return lowercase ? PyText.lower(s) : s;
    }

    private int[] chars(String s) {
        return (whitespace ? s : PyText.removeSpaces(s)).codePoints().toArray();
    }

    /** sacreBLEU's chrF word split: one ASCII punctuation mark comes off the end, else off the start, of each word. */
    static List<String> splitPunctuation(String sentence) {
        List<String> out = new ArrayList<>();
        for (String w : PyText.split(sentence)) {
            if (w.codePointCount(0, w.length()) == 1) {
                out.add(w);
            } else if (PUNCTS.indexOf(w.charAt(w.length() - 1)) >= 0) {
                out.add(w.substring(0, w.length() - 1));
                out.add(w.substring(w.length() - 1));
            } else if (PUNCTS.indexOf(w.charAt(0)) >= 0) {
                out.add(w.substring(0, 1));
                out.add(w.substring(1));
            } else {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * The chrF score of summed statistics (sacreBLEU's {@code _compute_f_score}).
     *
     * @param stats summed segment statistics, laid out as {@link #segmentStatistics} returns them
     * @param nrefs the reference count written into the signature ("1", "2", ... or "var")
     * @return the score of those statistics
     */
    public ChrfScore score(long[] stats, String nrefs) {
        return new ChrfScore(fScore(stats), "chrF" + beta + "+".repeat(wordOrder), charOrder, wordOrder, beta, signature(nrefs));
    }

    private double fScore(long[] stats) {
        int order = charOrder + wordOrder;
        if (stats.length != 3 * order) {
            throw new IllegalArgumentException("expected " + 3 * order + " statistics, got " + stats.length);
        }
        double factor = (double) beta * beta;
        double score = 0.0;
        double avgPrec = 0.0;
        double avgRec = 0.0;
        int effectiveOrder = 0;
        for (int i = 0; i < order; i++) {
            long nHyp = stats[3 * i];
            long nRef = stats[3 * i + 1];
            long nMatch = stats[3 * i + 2];
            double prec = nHyp > 0 ? (double) nMatch / nHyp : EPS;
            double rec = nRef > 0 ? (double) nMatch / nRef : EPS;
            double denom = factor * prec + rec;
            score += denom > 0 ? (1 + factor) * prec * rec / denom : EPS;
            if (nHyp > 0 && nRef > 0) {
                avgPrec += prec;
                avgRec += rec;
                effectiveOrder++;
            }
        }
        if (epsSmoothing) {
            return 100 * score / order;
        }
        if (effectiveOrder == 0) {
            avgPrec = 0.0;
            avgRec = 0.0;
        } else {
            avgPrec /= effectiveOrder;
            avgRec /= effectiveOrder;
        }
        if (avgPrec + avgRec != 0) {
            double f = (1 + factor) * avgPrec * avgRec;
            f /= (factor * avgPrec) + avgRec;
            return 100 * f;
        }
        return 0.0;
    }

    /**
     * sacreBLEU's chrF signature, e.g. {@code nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0}.
     *
     * @param nrefs the reference count to write: "1", "2", ... or "var"
     * @return the signature string
     */
    public String signature(String nrefs) {
        return "nrefs:" + nrefs + "|case:" + (lowercase ? "lc" : "mixed") + "|eff:" + (epsSmoothing ? "no" : "yes")
                + "|nc:" + charOrder + "|nw:" + wordOrder + "|space:" + (whitespace ? "yes" : "no")
                + "|version:" + Bleu.SACREBLEU_VERSION;
    }

    /** Builder of {@link Chrf}; names and defaults follow sacreBLEU's {@code CHRF(...)} arguments. */
    public static final class Builder {
        private int charOrder = 6;
        private int wordOrder;
        private int beta = 2;
        private boolean lowercase;
        private boolean whitespace;
        private boolean epsSmoothing;

        private Builder() {
        }

        /**
         * Character n-gram order (default 6).
         *
         * @param charOrder the largest character n-gram, at least 1
         * @return this builder
         */
        public Builder charOrder(int charOrder) {
            this.charOrder = charOrder;
            return this;
        }

        /**
         * Word n-gram order: 0 for chrF (default), 2 for chrF++.
         *
         * @param wordOrder the largest word n-gram, at least 0
         * @return this builder
         */
        public Builder wordOrder(int wordOrder) {
            this.wordOrder = wordOrder;
            return this;
        }

        /**
         * Recall weight (default 2).
         *
         * @param beta how many times more recall weighs than precision, at least 1
         * @return this builder
         */
        public Builder beta(int beta) {
            this.beta = beta;
            return this;
        }

        /**
         * Lowercase before matching.
         *
         * @param lowercase true to compare case-insensitively (default false)
         * @return this builder
         */
        public Builder lowercase(boolean lowercase) {
            this.lowercase = lowercase;
            return this;
        }

        /**
         * Keep whitespace inside character n-grams.
         *
         * @param whitespace true to keep whitespace (default false: it is removed)
         * @return this builder
         */
        public Builder whitespace(boolean whitespace) {
            this.whitespace = whitespace;
            return this;
        }

        /**
         * chrF++.py / Moses / NLTK style: average of per-order F-scores with epsilon smoothing.
         *
         * @param epsSmoothing true for the epsilon-smoothed average (default false: sacreBLEU's effective order)
         * @return this builder
         */
        public Builder epsSmoothing(boolean epsSmoothing) {
            this.epsSmoothing = epsSmoothing;
            return this;
        }

        /**
         * Builds the immutable metric.
         *
         * @return the metric with this builder's settings
         */
        public Chrf build() {
            if (charOrder < 0 || wordOrder < 0 || charOrder + wordOrder == 0) {
                throw new IllegalStateException("charOrder (" + charOrder + ") and wordOrder (" + wordOrder
                        + ") must be >= 0 with a positive sum; sacreBLEU's chrF is 6/0, chrF++ 6/2");
            }
            if (beta < 0) {
                throw new IllegalStateException("beta must be >= 0, got " + beta);
            }
            return new Chrf(this);
        }
    }
}
