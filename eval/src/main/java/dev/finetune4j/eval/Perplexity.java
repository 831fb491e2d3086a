package dev.finetune4j.eval;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Perplexity of a causal LM over tokenized documents with the sliding-window method of Hugging Face's
 * perplexity guide: windows of at most {@code maxLength} tokens start every {@code stride} tokens
 * ({@code begin = 0, stride, 2 stride, ...}, {@code end = min(begin + maxLength, length)}, stopping at the
 * window that reaches the end); each window scores only the tokens after the previous window's end
 * ({@code trg_len = end - prev_end} in the guide) whose predecessor lies inside the window. With
 * {@code stride < maxLength} that is every token but the document's first, each with at least
 * {@code maxLength - stride} tokens of context; with {@code stride == maxLength} (plain chunking) the first
 * token of every window goes unscored, as in the guide. A smaller stride gives more context and a lower,
 * more faithful perplexity at more compute.
 *
 * <p>NOTE: the guide approximates its token count by subtracting one per window for the label shift; we
 * count exactly the tokens that received a prediction, so for a single window our number equals
 * {@code exp(loss)} of a Hugging Face forward pass with {@code labels = input_ids}.
 *
 * <pre>{@code
 * try (CausalLM lm = AutoModel.loadCausalLM(dir)) {
 *     PerplexityResult r = Perplexity.builder().maxLength(1024).stride(512).build().compute(lm, documents);
 *     r.perplexity(); r.documents().get(0).nll();
 * }
 * }</pre>
 *
 * <p>Works with any {@link CausalLM}: our models and {@code dev.finetune4j.eval.onnx.OnnxCausalLM}. Our models are
 * scored through their log-probabilities on their device, several windows (of any documents) per forward pass up to
 * {@link Builder#batchTokens} tokens, with the same values as one window at a time. They compute in the calling thread's {@link dev.finetune4j.core.autograd.Precision}: on a GPU, score under
 * {@code Precision.BF16_MIXED.use()} with bf16 weights, as {@link dev.finetune4j.core.generate.Generator} explains.
 * Immutable and thread-safe (as far as the model is).
 */
public final class Perplexity {
    private final int maxLength;
    private final int stride;
    private final int batchTokens;

    private Perplexity(Builder b) {
        this.maxLength = b.maxLength;
        this.stride = b.stride;
        this.batchTokens = b.batchTokens;
    }

    /**
     * A builder; {@code maxLength} defaults to the model's {@code maxPositionEmbeddings}, stride to maxLength,
     * {@code batchTokens} to {@value Builder#DEFAULT_BATCH_TOKENS}.
     *
     * @return a new builder with those defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Perplexity of {@code model} over documents given as token ids.
     *
     * @param model the model to score
     * @param documents the documents as token ids, each scored on its own
     * @return corpus perplexity and per-document negative log-likelihoods
     * @throws IllegalArgumentException when there is no document, a document is null, {@code maxLength} exceeds the
     *                                  model's positions, or no document has the two tokens needed to score one
     */
    public PerplexityResult compute(CausalLM model, List<long[]> documents) {
        if (documents == null || documents.isEmpty()) {
            throw new IllegalArgumentException("no documents to score; perplexity of an empty set is undefined");
        }
        if (maxLength > model.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxLength " + maxLength + " exceeds the model's "
                    + model.maxPositionEmbeddings() + " positions; positions past them were never trained");
        }
        int window = maxLength > 0 ? maxLength : model.maxPositionEmbeddings();
        int step = stride > 0 ? stride : window;
        if (step > window) {
            throw new IllegalArgumentException("stride " + step + " exceeds maxLength " + window + "; tokens would go unscored");
        }
        List<ScoredWindow> windows = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            if (documents.get(i) == null) {
                throw new IllegalArgumentException("document " + i + " is null");
            }
            addWindows(i, documents.get(i), window, step, model.vocabSize(), windows);
        }
        double[] nll = new double[documents.size()];
        long[] counts = new long[documents.size()];
        if (model instanceof LogitsModel ours) {
            scoreInBatches(ours, windows, nll);
        } else {
            windows.forEach(w -> nll[w.document()] -= logLikelihood(model, w));
        }
        windows.forEach(w -> counts[w.document()] += w.scoredTokens());
        List<PerplexityResult.DocumentNll> docs = new ArrayList<>(documents.size());
        double total = 0;
        long tokens = 0;
        for (int i = 0; i < nll.length; i++) {
            docs.add(new PerplexityResult.DocumentNll(nll[i], counts[i]));
            total += nll[i];
            tokens += counts[i];
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("no token to score: each of the " + documents.size()
                    + " documents has fewer than 2 tokens (the first token of a document has no context)");
        }
        return new PerplexityResult(Math.exp(total / tokens), total, tokens, docs);
    }

    /** A window of a document: its tokens, of which those from position {@code firstScored} on are scored. */
    private record ScoredWindow(int document, long[] tokens, int firstScored) {
        long scoredTokens() {
            return Math.max(0, tokens.length - firstScored);
        }
    }

    /** The windows of document {@code doc}, after checking that every token it scores is in the vocabulary. */
    private static void addWindows(int doc, long[] ids, int window, int step, int vocabSize, List<ScoredWindow> out) {
        int prevEnd = 0;
        for (int begin = 0; begin < ids.length; begin += step) {
            int end = Math.min(begin + window, ids.length);
            // Position p is predicted by the logits at p - 1, which must lie inside the window.
            int firstScored = Math.max(prevEnd, begin + 1);
            for (int p = firstScored; p < end; p++) {
                if (ids[p] < 0 || ids[p] >= vocabSize) {
                    throw new IllegalArgumentException("document " + doc + ": token id " + ids[p]
                            + " outside the model's vocabulary of " + vocabSize);
                }
            }
            out.add(new ScoredWindow(doc, Arrays.copyOfRange(ids, begin, end), firstScored - begin));
            prevEnd = end;
            if (end == ids.length) {
                break;
            }
        }
    }

    /**
     * Scores the windows with the model's log-probabilities on its device, several windows per forward pass: one
     * float per position comes back, not the windows' (T, V) logits (with a 151,936-word vocabulary, 600 MB for
     * 1,024 tokens), and a model whose head is a plain projection never holds them at all. The longest windows go
     * first, each batch holding as many as {@code batchTokens} allows at its longest window's length, the shorter
     * ones padded at the end (and masked out: their positions are never scored).
     */
    private void scoreInBatches(LogitsModel model, List<ScoredWindow> windows, double[] nll) {
        List<ScoredWindow> longestFirst = new ArrayList<>(windows);
        longestFirst.sort(Comparator.comparingInt((ScoredWindow w) -> w.tokens().length).reversed());
        for (int at = 0; at < longestFirst.size(); ) {
            int width = longestFirst.get(at).tokens().length;
            int rows = Math.max(1, Math.min(longestFirst.size() - at, batchTokens / width));
            List<ScoredWindow> batch = longestFirst.subList(at, at + rows);
            double[] sums = logLikelihoods(model, batch, width);
            for (int r = 0; r < rows; r++) {
                nll[batch.get(r).document()] -= sums[r];
            }
            at += rows;
        }
    }

    /** Each window's sum of log p(token | earlier tokens) over its scored positions, in one forward pass. */
    private static double[] logLikelihoods(LogitsModel model, List<ScoredWindow> batch, int width) {
        long[][] ids = new long[batch.size()][width];
        long[][] mask = new long[batch.size()][width];
        boolean padded = false;
        int[] labels = new int[batch.size() * width];
        Arrays.fill(labels, CrossEntropy.IGNORE_INDEX);
        for (int r = 0; r < batch.size(); r++) {
            long[] tokens = batch.get(r).tokens();
            System.arraycopy(tokens, 0, ids[r], 0, tokens.length);
            Arrays.fill(mask[r], 0, tokens.length, 1);
            padded |= tokens.length < width;
            for (int t = Math.max(0, batch.get(r).firstScored() - 1); t + 1 < tokens.length; t++) {
                labels[r * width + t] = (int) tokens[t + 1];
            }
        }
        float[] logProbs;
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            logProbs = model.tokenLogProbs(ModelInput.of(ids, padded ? mask : null), labels).toFloatArray();
        }
        double[] sums = new double[batch.size()];
        for (int i = 0; i < logProbs.length; i++) {
            sums[i / width] += logProbs[i]; // 0 at ignored positions
        }
        return sums;
    }

    /** A window's log-likelihood from the logits of any other causal LM (ONNX Runtime's), log-softmaxed here. */
    private static double logLikelihood(CausalLM model, ScoredWindow w) {
        float[][] logits = model.logits(new long[][]{w.tokens()}, null)[0];
        double sum = 0;
        for (int p = w.firstScored(); p < w.tokens().length; p++) {
            sum += logSoftmax(logits[p - 1], w.tokens()[p]);
        }
        return sum;
    }

    /** {@code log softmax(logits)[target]} in double precision. */
    static double logSoftmax(float[] logits, long target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        return logits[(int) target] - max - Math.log(sum);
    }

    /** Builder of {@link Perplexity}. */
    public static final class Builder {
        /** Tokens one forward pass of our models reads by default. */
        public static final int DEFAULT_BATCH_TOKENS = 4096;

        private int maxLength;
        private int stride;
        private int batchTokens = DEFAULT_BATCH_TOKENS;

        private Builder() {
        }

        /**
         * Window length in tokens (default: the model's maximum positions).
         *
         * @param maxLength tokens per window, at least 2
         * @return this builder
         */
        public Builder maxLength(int maxLength) {
            if (maxLength < 2) {
                throw new IllegalArgumentException("maxLength must be >= 2, got " + maxLength);
            }
            this.maxLength = maxLength;
            return this;
        }

        /**
         * Distance between window starts, {@code 1 <= stride <= maxLength} (default maxLength).
         *
         * @param stride tokens between window starts
         * @return this builder
         */
        public Builder stride(int stride) {
            if (stride < 1) {
                throw new IllegalArgumentException("stride must be >= 1, got " + stride);
            }
            this.stride = stride;
            return this;
        }

        /**
         * The tokens one forward pass reads at most when scoring our models: windows go in together up to this many
         * (counted at the batch's longest window, the shorter ones padded), one window alone when it is longer. More
         * is faster on a GPU, as far as its memory allows; the values do not depend on it. ONNX models score one
         * window per pass.
         *
         * @param tokens at least 1; default {@value #DEFAULT_BATCH_TOKENS}
         * @return this builder
         */
        public Builder batchTokens(int tokens) {
            if (tokens < 1) {
                throw new IllegalArgumentException("batchTokens must be >= 1, got " + tokens);
            }
            this.batchTokens = tokens;
            return this;
        }

        /**
         * Builds the immutable evaluator.
         *
         * @return the evaluator with this builder's settings
         */
        public Perplexity build() {
            if (maxLength > 0 && stride > maxLength) {
                throw new IllegalStateException("stride " + stride + " exceeds maxLength " + maxLength);
            }
            return new Perplexity(this);
        }
    }
}
