package dev.finetune4j.eval;

import dev.finetune4j.eval.text.NgramMatcher;
import dev.finetune4j.eval.text.PyText;
import dev.finetune4j.eval.text.TercomTokenizer;
import dev.finetune4j.eval.text.TranslationEditRate;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Translation Edit Rate identical to sacreBLEU 2.6's {@code TER} (tercom-compatible shifts and beam edit
 * distance, see {@link TranslationEditRate}): per segment the fewest edits over its references divided by
 * the average reference length, summed over the corpus. Lowercases by default, like sacreBLEU.
 *
 * <pre>{@code
 * TerScore ter = Ter.builder().build().corpusScore(hyps, List.of(refs));
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe; corpus scores run segments in parallel.
 */
public final class Ter {
    private final TercomTokenizer tokenizer;

    private Ter(TercomTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * A builder with sacreBLEU's defaults (case-insensitive, no normalization, punctuation kept).
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Corpus TER; {@code referenceStreams.get(k).get(i)} is the k-th reference of segment i (null: none).
     *
     * @param hypotheses one system output per segment
     * @param referenceStreams reference streams of the same length as {@code hypotheses}
     * @return the corpus TER (edits over reference words) and signature
     */
    public TerScore corpusScore(List<String> hypotheses, List<List<String>> referenceStreams) {
        List<List<String>> refs = Segments.transpose(hypotheses, referenceStreams, "Ter.corpusScore");
        double[][] perSegment = IntStream.range(0, hypotheses.size()).parallel()
                .mapToObj(i -> segmentStatistics(hypotheses.get(i), refs.get(i)))
                .toArray(double[][]::new);
        double edits = 0;
        double refLength = 0;
        for (double[] s : perSegment) {
            edits += s[0];
            refLength += s[1];
        }
        return score(edits, refLength, Segments.signatureRefCount(refs));
    }

    /**
     * Sentence TER of one hypothesis against its references.
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's references, at least one
     * @return the TER score of this one segment
     */
    public TerScore sentenceScore(String hypothesis, List<String> references) {
        List<String> refs = Segments.nonNull(references, "Ter.sentenceScore");
        double[] s = segmentStatistics(hypothesis, refs);
        return score(s[0], s[1], String.valueOf(refs.size()));
    }

    /**
     * {@code [fewest edits over the references, average reference length]} of one segment.
     *
     * @param hypothesis the system output of one segment
     * @param references the segment's references, at least one
     * @return a new array of two numbers
     */
    public double[] segmentStatistics(String hypothesis, List<String> references) {
        String hyp = Segments.hypothesis(hypothesis, "Ter");
        List<String> hypWords = PyText.split(tokenizer.apply(PyText.rstrip(hyp)));
        List<List<String>> refWords = new ArrayList<>(references.size());
        for (String r : references) {
            refWords.add(PyText.split(tokenizer.apply(PyText.rstrip(r))));
        }
        // Only hypothesis words are ever compared with reference words, so words absent from the hypothesis
        // can share the id -1.
        int[][] ids = NgramMatcher.wordIds(hypWords, refWords);
        long best = Long.MAX_VALUE;
        long refLengths = 0;
        for (int k = 1; k < ids.length; k++) {
            best = Math.min(best, TranslationEditRate.edits(ids[0], ids[k]));
            refLengths += ids[k].length;
        }
        return new double[] {best, (double) refLengths / references.size()};
    }

    private TerScore score(double edits, double refLength, String nrefs) {
        double ter;
        if (refLength > 0) {
            ter = edits / refLength;
        } else {
            ter = edits > 0 ? 1.0 : 0.0;
        }
        return new TerScore(100 * ter, edits, refLength, signature(nrefs));
    }

    /**
     * sacreBLEU's TER signature, e.g. {@code nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0}.
     *
     * @param nrefs the reference count to write: "1", "2", ... or "var"
     * @return the signature string
     */
    public String signature(String nrefs) {
        return "nrefs:" + nrefs + "|case:" + (tokenizer.caseSensitive() ? "mixed" : "lc") + "|tok:tercom|norm:"
                + (tokenizer.normalized() ? "yes" : "no") + "|punct:" + (tokenizer.noPunct() ? "no" : "yes")
                + "|asian:" + (tokenizer.asianSupport() ? "yes" : "no") + "|version:" + Bleu.SACREBLEU_VERSION;
    }

    /** Builder of {@link Ter}; names and defaults follow sacreBLEU's {@code TER(...)} arguments. */
    public static final class Builder {
        private boolean normalized;
        private boolean noPunct;
        private boolean asianSupport;
        private boolean caseSensitive;

        private Builder() {
        }

        /**
         * tercom's normalization (mteval-style tokenization of punctuation).
         *
         * @param normalized true to normalize (default false)
         * @return this builder
         */
        public Builder normalized(boolean normalized) {
            this.normalized = normalized;
            return this;
        }

        /**
         * Removes punctuation before scoring.
         *
         * @param noPunct true to remove punctuation (default false)
         * @return this builder
         */
        public Builder noPunct(boolean noPunct) {
            this.noPunct = noPunct;
            return this;
        }

        /**
         * CJK splitting (with normalized) and CJK punctuation removal (with noPunct).
         *
         * @param asianSupport true to treat CJK text specially (default false)
         * @return this builder
         */
        public Builder asianSupport(boolean asianSupport) {
            this.asianSupport = asianSupport;
            return this;
        }

        /**
         * Keeps case (the default lowercases).
         *
         * @param caseSensitive true to keep case (default false)
         * @return this builder
         */
        public Builder caseSensitive(boolean caseSensitive) {
            this.caseSensitive = caseSensitive;
            return this;
        }

        /**
         * Builds the immutable metric.
         *
         * @return the metric with this builder's settings
         */
        public Ter build() {
            return new Ter(new TercomTokenizer(normalized, noPunct, asianSupport, caseSensitive));
        }
    }
}
