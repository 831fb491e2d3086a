package dev.finetune4j.eval;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.CausalLM;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
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
 * <p>Works with any {@link CausalLM}: our models and {@code dev.finetune4j.eval.onnx.OnnxCausalLM}. Our models
 * compute in the calling thread's {@link dev.finetune4j.core.autograd.Precision}: on a GPU, score under
 * {@code Precision.BF16_MIXED.use()} with bf16 weights, as {@link dev.finetune4j.core.generate.Generator} explains.
 * Immutable and thread-safe (as far as the model is).
 */
public final class Perplexity {
    private final int maxLength;
    private final int stride;

    private Perplexity(Builder b) {
        this.maxLength = b.maxLength;
        this.stride = b.stride;
    }

    /**
     * A builder; {@code maxLength} defaults to the model's {@code maxPositionEmbeddings}, stride to maxLength.
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
        List<PerplexityResult.DocumentNll> docs = new ArrayList<>(documents.size());
        double nll = 0;
        long tokens = 0;
        for (int i = 0; i < documents.size(); i++) {
            if (documents.get(i) == null) {
                throw new IllegalArgumentException("document " + i + " is null");
            }
            PerplexityResult.DocumentNll d = document(model, documents.get(i), window, step);
            docs.add(d);
            nll += d.nll();
            tokens += d.tokens();
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("no token to score: each of the " + documents.size()
                    + " documents has fewer than 2 tokens (the first token of a document has no context)");
        }
        return new PerplexityResult(Math.exp(nll / tokens), nll, tokens, docs);
    }

    private static PerplexityResult.DocumentNll document(CausalLM model, long[] ids, int window, int step) {
        double nll = 0;
        long count = 0;
        int prevEnd = 0;
        for (int begin = 0; begin < ids.length; begin += step) {
            int end = Math.min(begin + window, ids.length);
            // Position p is predicted by the logits at p - 1, which must lie inside the window.
            int firstScored = Math.max(prevEnd, begin + 1);
            for (int p = firstScored; p < end; p++) {
                if (ids[p] < 0 || ids[p] >= model.vocabSize()) {
                    throw new IllegalArgumentException("token id " + ids[p] + " outside the model's vocabulary of "
                            + model.vocabSize());
                }
            }
            long[] input = Arrays.copyOfRange(ids, begin, end);
            nll -= model instanceof LogitsModel ours ? logLikelihood(ours, input, firstScored - begin)
                    : logLikelihood(model, input, firstScored - begin);
            count += Math.max(0, end - firstScored);
            prevEnd = end;
            if (end == ids.length) {
                break;
            }
        }
        return new PerplexityResult.DocumentNll(nll, count);
    }

    /**
     * The sum of log p(input[p] | input[..p]) over {@code p >= firstScored}, from the model's log-probabilities on its
     * device: one float per position comes back, not the window's (T, V) logits (with a 151,936-word vocabulary, 600
     * MB for a window of 1,024 tokens), and a model whose head is a plain projection never holds them at all.
     */
    private static double logLikelihood(LogitsModel model, long[] input, int firstScored) {
        int[] labels = new int[input.length];
        for (int t = 0; t < input.length; t++) {
            labels[t] = t + 1 >= firstScored && t + 1 < input.length ? (int) input[t + 1] : CrossEntropy.IGNORE_INDEX;
        }
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            float[] logProbs = model.tokenLogProbs(ModelInput.of(new long[][]{input}, null), labels).toFloatArray();
            double sum = 0;
            for (float lp : logProbs) {
                sum += lp; // 0 at ignored positions
            }
            return sum;
        }
    }

    /** {@link #logLikelihood(LogitsModel, long[], int)} from the logits of any other causal LM (ONNX Runtime's). */
    private static double logLikelihood(CausalLM model, long[] input, int firstScored) {
        float[][] logits = model.logits(new long[][]{input}, null)[0];
        double sum = 0;
        for (int p = firstScored; p < input.length; p++) {
            sum += logSoftmax(logits[p - 1], input[p]);
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
        private int maxLength;
        private int stride;

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
