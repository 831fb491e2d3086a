package dev.finetune4j.eval;

import dev.finetune4j.eval.text.BitParallelLcs;
import dev.finetune4j.eval.text.NgramMatcher;
import dev.finetune4j.eval.text.RougeTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum identical to Google's rouge-score ({@code RougeScorer.score}): its
 * tokenizer and optional Porter stemmer ({@link RougeTokenizer}), clipped n-gram overlap, LCS, and for
 * {@code rougeLsum} the summary-level union-LCS over sentences split at newlines. A documented {@code cjk}
 * option scores Chinese, Japanese and Korean on characters (rouge-score drops them).
 *
 * <pre>{@code
 * Map<String, RougeScore> r = Rouge.builder().rougeTypes("rouge1", "rouge2", "rougeL", "rougeLsum")
 *         .useStemmer(true).build().score(reference, prediction);
 * double f = r.get("rougeL").fmeasure();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Rouge {
    private static final Pattern ROUGE_N = Pattern.compile("rouge([1-9])");
    /** The largest union-LCS table of one rougeLsum sentence pair: 4096 x 4096 tokens, 64 MiB of ints. */
    static final long MAX_LSUM_TABLE_CELLS = 1L << 24;

    private final List<String> rougeTypes;
    private final RougeTokenizer tokenizer;
    private final int maxN;

    private Rouge(Builder b) {
        this.rougeTypes = List.copyOf(b.rougeTypes);
        this.tokenizer = new RougeTokenizer(b.useStemmer, b.cjk);
        int max = 0;
        for (String type : rougeTypes) {
            var m = ROUGE_N.matcher(type);
            if (m.matches()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            } else if (!type.equals("rougeL") && !type.equals("rougeLsum")) {
                throw new IllegalArgumentException("unknown ROUGE type '" + type + "'; expected rouge1..rouge9, rougeL or rougeLsum");
            }
        }
        this.maxN = max;
    }

    /**
     * A builder; the default types are rouge1, rouge2 and rougeL, without stemming.
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The configured types, in order.
     *
     * @return the ROUGE type names, e.g. {@code rouge1}, {@code rougeL}
     */
    public List<String> rougeTypes() {
        return rougeTypes;
    }

    /**
     * Scores one prediction against one target (rouge-score's {@code score(target, prediction)}).
     *
     * @param target the reference text
     * @param prediction the model's text
     * @return an unmodifiable map from ROUGE type to score, in the configured order
     */
    public Map<String, RougeScore> score(String target, String prediction) {
        if (target == null || prediction == null) {
            throw new IllegalArgumentException("Rouge.score: " + (target == null ? "target" : "prediction")
                    + " is null; use \"\" for an empty text");
        }
        List<String> targetTokens = tokenizer.tokenize(target);
        List<String> predictionTokens = tokenizer.tokenize(prediction);
        int[][] ids = NgramMatcher.wordIds(predictionTokens, List.of(targetTokens));
        int[] pred = ids[0];
        int[] tgt = ids[1];
        NgramMatcher matcher = maxN > 0 ? new NgramMatcher(pred, maxN) : null;
        int[] targetCounts = matcher != null ? matcher.countsIn(tgt) : null;
        Map<String, RougeScore> out = new LinkedHashMap<>();
        for (String type : rougeTypes) {
            if (type.equals("rougeL")) {
                out.put(type, lcsScore(tgt, pred));
            } else if (type.equals("rougeLsum")) {
                out.put(type, summaryLevelLcs(target, prediction));
            } else {
                int n = type.charAt(5) - '0';
                int overlap = matcher.clippedMatches(n, targetCounts);
                double precision = (double) overlap / Math.max(Math.max(0, pred.length - n + 1), 1);
                double recall = (double) overlap / Math.max(Math.max(0, tgt.length - n + 1), 1);
                out.put(type, RougeScore.of(precision, recall));
            }
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * For each type, the score against the target with the highest F1 (rouge-score's {@code score_multi}).
     *
     * @param targets the reference texts, at least one
     * @param prediction the model's text
     * @return an unmodifiable map from ROUGE type to the best score, in the configured order
     */
    public Map<String, RougeScore> scoreMulti(List<String> targets, String prediction) {
        if (targets == null || targets.isEmpty()) {
            throw new IllegalArgumentException("Rouge.scoreMulti needs at least one target, found "
                    + (targets == null ? "null" : "none"));
        }
        Map<String, RougeScore> best = new LinkedHashMap<>();
        for (String target : targets) {
            score(target, prediction).forEach((type, s) -> best.merge(type, s, (a, b) -> b.fmeasure() > a.fmeasure() ? b : a));
        }
        return java.util.Collections.unmodifiableMap(best);
    }

    /**
     * The mean precision, recall and F1 per type over segments (what Hugging Face {@code evaluate}'s rouge
     * reports without aggregation by bootstrap). Segments are scored in parallel.
     *
     * <p>Arguments in the same order and shape as {@link Bleu#corpusScore}, {@link Chrf#corpusScore} and
     * {@link Ter#corpusScore}: hypotheses first, then reference streams ({@code referenceStreams.get(k).get(i)}
     * is the k-th reference of segment i; {@code List.of(references)} for one reference per segment). With several
     * references, a segment scores against the one with the best F1 per type ({@link #scoreMulti}).
     *
     * @param hypotheses one model output per segment
     * @param referenceStreams reference streams of the same length as {@code hypotheses}
     * @return an unmodifiable map from ROUGE type to its mean score, in the configured order
     * @throws IllegalArgumentException when there is no segment, a hypothesis is null, a stream's length differs
     *                                  from the hypotheses' or a segment has no reference
     */
    public Map<String, RougeScore> corpusScore(List<String> hypotheses, List<List<String>> referenceStreams) {
        List<List<String>> references = Segments.transpose(hypotheses, referenceStreams, "Rouge.corpusScore");
        List<Map<String, RougeScore>> all = IntStream.range(0, references.size()).parallel()
                .mapToObj(i -> scoreMulti(references.get(i), hypotheses.get(i))).toList();
        Map<String, RougeScore> out = new LinkedHashMap<>();
        for (String type : rougeTypes) {
            double p = 0;
            double r = 0;
            double f = 0;
            for (Map<String, RougeScore> m : all) {
                RougeScore s = m.get(type);
                p += s.precision();
                r += s.recall();
                f += s.fmeasure();
            }
            int n = all.size();
            out.put(type, new RougeScore(p / n, r / n, f / n));
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    private static RougeScore lcsScore(int[] target, int[] prediction) {
        if (target.length == 0 || prediction.length == 0) {
            return new RougeScore(0, 0, 0);
        }
        int lcs = BitParallelLcs.length(target, prediction);
        return RougeScore.of((double) lcs / prediction.length, (double) lcs / target.length);
    }

    /** rouge-score's {@code _summary_level_lcs}: union LCS per target sentence, each token counted at most as often as it occurs. */
    private RougeScore summaryLevelLcs(String target, String prediction) {
        Map<String, Integer> vocab = new HashMap<>();
        List<int[]> ref = sentences(target, vocab);
        List<int[]> can = sentences(prediction, vocab);
        int m = ref.stream().mapToInt(s -> s.length).sum();
        int n = can.stream().mapToInt(s -> s.length).sum();
        if (ref.isEmpty() || can.isEmpty() || m == 0 || n == 0) {
            return new RougeScore(0, 0, 0);
        }
        int[] refCounts = new int[vocab.size()];
        int[] canCounts = new int[vocab.size()];
        ref.forEach(s -> Arrays.stream(s).forEach(t -> refCounts[t]++));
        can.forEach(s -> Arrays.stream(s).forEach(t -> canCounts[t]++));
        int hits = 0;
        for (int[] r : ref) {
            BitSet union = new BitSet(r.length);
            for (int[] c : can) {
                lcsIndices(r, c, union);
            }
            for (int i = union.nextSetBit(0); i >= 0; i = union.nextSetBit(i + 1)) {
                int t = r[i];
                if (canCounts[t] > 0 && refCounts[t] > 0) {
                    hits++;
                    canCounts[t]--;
                    refCounts[t]--;
                }
            }
        }
        return RougeScore.of((double) hits / n, (double) hits / m);
    }

    private List<int[]> sentences(String text, Map<String, Integer> vocab) {
        List<int[]> out = new ArrayList<>();
        for (String sentence : text.split("\n", -1)) {
            if (sentence.isEmpty()) {
                continue;
            }
            List<String> tokens = tokenizer.tokenize(sentence);
            int[] ids = new int[tokens.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = vocab.computeIfAbsent(tokens.get(i), k -> vocab.size());
            }
            out.add(ids);
        }
        return out;
    }

    /**
     * Marks in {@code into} the indices of {@code ref} on rouge-score's backtracked LCS with {@code can}.
     * NOTE: the backtrack needs the whole table (rougeL needs only the LCS length); sentences are short, so a pair
     * over {@link #MAX_LSUM_TABLE_CELLS} is refused rather than allowed to exhaust the heap.
     */
    private static void lcsIndices(int[] ref, int[] can, BitSet into) {
        long cells = (long) (ref.length + 1) * (can.length + 1);
        if (cells > MAX_LSUM_TABLE_CELLS) {
            throw new IllegalArgumentException("rougeLsum: a sentence pair of " + ref.length + " x " + can.length
                    + " tokens needs an LCS table of " + cells + " cells, over the limit of " + MAX_LSUM_TABLE_CELLS
                    + "; put one sentence per line (rougeLsum splits at newlines) or use rougeL, whose memory is"
                    + " linear");
        }
        int[][] t = new int[ref.length + 1][can.length + 1];
        for (int i = 1; i <= ref.length; i++) {
            for (int j = 1; j <= can.length; j++) {
                t[i][j] = ref[i - 1] == can[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
            }
        }
        int i = ref.length;
        int j = can.length;
        while (i > 0 && j > 0) {
            if (ref[i - 1] == can[j - 1]) {
                into.set(i - 1);
                i--;
                j--;
            } else if (t[i][j - 1] > t[i - 1][j]) {
                j--;
            } else {
                i--;
            }
        }
    }

    /** Builder of {@link Rouge}. */
    public static final class Builder {
        private List<String> rougeTypes = List.of("rouge1", "rouge2", "rougeL");
        private boolean useStemmer;
        private boolean cjk;

        private Builder() {
        }

        /**
         * ROUGE types: {@code rouge1}..{@code rouge9}, {@code rougeL}, {@code rougeLsum}.
         *
         * @param types one or more type names
         * @return this builder
         */
        public Builder rougeTypes(String... types) {
            if (types.length == 0) {
                throw new IllegalArgumentException("at least one ROUGE type is required");
            }
            this.rougeTypes = List.of(types);
            return this;
        }

        /**
         * Porter-stem tokens longer than three characters, as rouge-score's {@code use_stemmer}.
         *
         * @param useStemmer true to stem (default false)
         * @return this builder
         */
        public Builder useStemmer(boolean useStemmer) {
            this.useStemmer = useStemmer;
            return this;
        }

        /**
         * Our extension: CJK characters become one-character tokens instead of being dropped.
         *
         * @param cjk true to keep CJK characters as tokens (default false)
         * @return this builder
         */
        public Builder cjk(boolean cjk) {
            this.cjk = cjk;
            return this;
        }

        /**
         * Builds the immutable scorer.
         *
         * @return the scorer with this builder's settings
         */
        public Rouge build() {
            return new Rouge(this);
        }
    }
}
