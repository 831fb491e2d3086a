package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The output projection and the cross-entropy in one op, worked through the tokens in chunks: {@code logits =
 * hidden W^T} is never held for all N tokens, only for {@code chunkRows} of them at a time (the forward keeps each
 * row's maximum and 1 / sum of exponentials; the backward recomputes the chunk's logits). At a 151,936-word
 * vocabulary and 2,048 tokens, the unfused path holds 1.2 GB of float32 logits and as much again for their
 * gradient; this op holds one chunk of {@code chunkRows x V} floats at a time (the backward turns the recomputed
 * logits into their gradient in place).
 *
 * <p>Equal to {@code CrossEntropy.tokenLogProbs(Matmul.linear(hidden, weight, null), labels)}: every row's logits,
 * log-probability and input gradient are computed by the same kernels on the same values, so they match bit for
 * bit where the matrix kernel's sums do not depend on the number of rows (the CPU's: tested). The weight's gradient
 * sums over the tokens chunk by chunk instead of at once, so it differs by float32 rounding only.
 *
 * <p>With a soft cap c (Gemma 2's {@code final_logit_softcapping}) the logits are {@code c * tanh(hidden W^T / c)},
 * capped chunk by chunk; equal to the unfused path under {@link Precision#F32}, and within bf16 rounding under
 * {@link Precision#BF16_MIXED} (which rounds the unfused path's tanh to bf16).
 *
 * <p>NOTE: chunks of tokens rather than of the vocabulary: each row then sees its whole vocabulary in one
 * cross-entropy kernel call, with the same max and sum as the unfused path, and the memory bound is the same
 * (chunk x V instead of N x chunk).
 */
public final class LinearCrossEntropy {
    /** Float32 values a chunk of logits may hold by default (64 MiB), see {@link #defaultChunkRows}. */
    static final long DEFAULT_CHUNK_ELEMENTS = 1L << 24;
    /** Products with this many rows or fewer may run another kernel (the CPU's for LoRA's rank-r factors). */
    private static final int NARROW_ROWS = 8;

    private LinearCrossEntropy() {
    }

    /**
     * Rows per chunk so that a chunk of logits holds about 16 M floats (64 MiB): 110 rows at a 151,936-word
     * vocabulary, at least 16.
     *
     * @param vocab the vocabulary size V
     * @return the rows per chunk
     */
    public static int defaultChunkRows(int vocab) {
        return (int) Math.max(16, DEFAULT_CHUNK_ELEMENTS / Math.max(1, vocab));
    }

    /**
     * Mean negative log-likelihood of {@code hidden W^T} over the rows whose label is not
     * {@link CrossEntropy#IGNORE_INDEX}, equal to {@code CrossEntropy.loss(Matmul.linear(hidden, weight, null),
     * labels)} (NaN when every label is ignored), in chunks of {@link #defaultChunkRows} rows.
     *
     * @param hidden the hidden states, (N, C) or (..., C) with N rows in all
     * @param weight the output projection, (V, C), any dtype the matrix kernels read
     * @param labels the class of each row in [0, V), or {@link CrossEntropy#IGNORE_INDEX}
     * @return the mean loss, a one-element tensor
     */
    public static Tensor loss(Tensor hidden, Tensor weight, int[] labels) {
        return CrossEntropy.lossFromLogProbs(tokenLogProbs(hidden, weight, labels, defaultChunkRows(weight.dim(0))),
                labels);
    }

    /**
     * log p(label) per row under softmax(hidden W^T), 0 where the label is ignored, as
     * {@code CrossEntropy.tokenLogProbs(Matmul.linear(hidden, weight, null), labels)}. Gradients flow into
     * {@code hidden} and, when it requires them, into {@code weight} (a tied embedding receives them too).
     *
     * @param hidden the hidden states, (N, C) or (..., C) with N rows in all
     * @param weight the output projection, (V, C), any dtype the matrix kernels read
     * @param labels the class of each row in [0, V), or {@link CrossEntropy#IGNORE_INDEX}
     * @param chunkRows the rows whose logits are held at once, at least 1
     * @return the log-probabilities, (N)
     * @throws IllegalArgumentException when the shapes do not fit, a label is out of range or chunkRows is below 1
     */
    public static Tensor tokenLogProbs(Tensor hidden, Tensor weight, int[] labels, int chunkRows) {
        return tokenLogProbs(hidden, weight, labels, chunkRows, 0f);
    }

    /**
     * As {@link #tokenLogProbs(Tensor, Tensor, int[], int)}, under softmax({@code softCap * tanh(hidden W^T /
     * softCap)}): Gemma 2's capped logits, without holding them for all rows.
     *
     * @param hidden the hidden states, (N, C) or (..., C) with N rows in all
     * @param weight the output projection, (V, C), any dtype the matrix kernels read
     * @param labels the class of each row in [0, V), or {@link CrossEntropy#IGNORE_INDEX}
     * @param chunkRows the rows whose logits are held at once, at least 1
     * @param softCap the logits' soft cap, or 0 for none
     * @return the log-probabilities, (N)
     * @throws IllegalArgumentException when the shapes do not fit, a label is out of range, chunkRows is below 1 or the
     *                                  cap is negative or not finite
     */
    public static Tensor tokenLogProbs(Tensor hidden, Tensor weight, int[] labels, int chunkRows, float softCap) {
        if (!(softCap >= 0) || Float.isInfinite(softCap)) {
            throw new IllegalArgumentException("linear cross-entropy: soft cap " + softCap
                    + " must be finite and positive, or 0 for none");
        }
        int c = hidden.dim(-1);
        if (weight.rank() != 2 || weight.dim(1) != c) {
            throw new IllegalArgumentException("linear cross-entropy: hidden states " + hidden.shape()
                    + " do not fit the output projection " + weight.shape() + " (expected (vocab, " + c + "))");
        }
        if (chunkRows < 1) {
            throw new IllegalArgumentException("linear cross-entropy: chunkRows must be at least 1, got " + chunkRows);
        }
        Ops.sameDevice(hidden, weight);
        Tensor x = Ops.matrix(Bf16Boundaries.operand(hidden));
        Tensor w = Bf16Boundaries.operand(weight);
        int n = x.dim(0);
        int v = w.dim(0);
        CrossEntropy.checkLabels(labels, n, v);
        Chunks chunks = new Chunks(x, w, Tensor.ofInts(hidden.device(), labels, Shape.of(n)), chunkRows,
                Precision.current(), softCap);
        Tensor logProbs = Tensor.zeros(hidden.device(), Shape.of(n));
        Tensor rowMax = Tensor.zeros(hidden.device(), Shape.of(n));
        Tensor invRowSum = Tensor.zeros(hidden.device(), Shape.of(n));
        chunks.forward(logProbs, rowMax, invRowSum);
        return Autograd.record("linearCrossEntropy", logProbs, dOut -> {
            Tensor dx = hidden.requiresGrad() ? Tensor.zeros(hidden.device(), hidden.shape()) : null;
            Tensor dw = weight.requiresGrad() ? Tensor.zeros(weight.device(), weight.shape()) : null;
            chunks.backward(rowMax, invRowSum, dOut.detach().contiguous(), dx == null ? null : Ops.matrix(dx), dw);
            return new Tensor[]{dx, dw};
        }, hidden, weight);
    }

    /** The rows [start, end) of a chunk. */
    private record Range(int start, int end) {
    }

    /**
     * The forward's operands, cut into row chunks; each chunk's temporaries live in a scope of their own. The
     * backward (which runs under float32) recomputes the logits under the forward's precision, so that they are
     * the values the unfused path keeps.
     */
    private record Chunks(Tensor x, Tensor w, Tensor labels, int chunkRows, Precision precision, float softCap) {

        /** Each chunk's logits, then their log-probabilities and row statistics into the slices of the outputs. */
        void forward(Tensor logProbs, Tensor rowMax, Tensor invRowSum) {
            var ce = x.backend().crossEntropy();
            for (Range r : ranges()) {
                try (var chunk = TensorScope.open()) {
                    Tensor logits = logits(r);
                    ce.tokenLogProbs(softCap > 0 ? capped(logits, scaledByCap(logits)) : logits, rows(labels, r), CrossEntropy.IGNORE_INDEX, rows(logProbs, r),
                            rows(rowMax, r), rows(invRowSum, r));
                }
            }
        }

        /**
         * (forward: {@link #forward}) per chunk: recomputed logits, dLogits = d (onehot - softmax), then
         * dx[rows] = dLogits W and dW += dLogits^T x[rows]; dx or dw null when not wanted.
         */
        void backward(Tensor rowMax, Tensor invRowSum, Tensor dLogProbs, Tensor dx, Tensor dw) {
            Backend be = x.backend();
            boolean first = true;
            for (Range r : ranges()) {
                try (var chunk = TensorScope.open()) {
                    // float32 logits become their own gradient in place (one chunk buffer, not two); bf16 ones get a
                    // bf16 gradient beside them, rounded once for the products as gradientOperand would round it
                    Tensor logits = logits(r);
                    Tensor dLogits;
                    if (softCap > 0) {
                        // d cap(z) / dz = 1 - tanh^2(z / c): the cap and its reciprocal cancel
                        Tensor scaled = scaledByCap(logits);
                        Tensor dCapped = capped(logits, scaled); // float32: its gradient replaces it in place
                        be.crossEntropy().tokenLogProbsBackward(dCapped, rows(labels, r), CrossEntropy.IGNORE_INDEX,
                                rows(rowMax, r), rows(invRowSum, r), rows(dLogProbs, r), dCapped);
                        dLogits = Tensor.empty(chunk, logits.device(), DType.F32, logits.shape());
                        be.activations().activationBackward(Activations.Kind.TANH, scaled, dCapped, dLogits);
                    } else {
                        dLogits = logits.dtype() == DType.F32 ? logits
                                : Tensor.empty(chunk, logits.device(), DType.BF16, logits.shape());
                        be.crossEntropy().tokenLogProbsBackward(logits, rows(labels, r), CrossEntropy.IGNORE_INDEX,
                                rows(rowMax, r), rows(invRowSum, r), rows(dLogProbs, r), dLogits);
                    }
                    Tensor dOperand = Bf16Boundaries.gradientOperand(dLogits, precision);
                    if (dx != null) {
                        be.matmul().gemm(dOperand, false, w, false, rows(dx, r), 1f, false);
                    }
                    if (dw != null) {
                        be.matmul().gemm(dOperand, true, rows(x, r), false, dw, 1f, !first);
                    }
                }
                first = false;
            }
        }

        /**
         * The chunk's logits x[rows] W^T, rounded as {@link Matmul#linear}'s output: written as bf16 by the product
         * where it can ({@link Matmul#linearOutput}), else float32 holding the rounded values.
         */
        private Tensor logits(Range r) {
            try (var forwardPrecision = precision.use()) {
                return Bf16Boundaries.roundInPlace(Matmul.linearOutput(x.backend(), rows(x, r), w, null));
            }
        }

        /** The chunk's logits over the cap, {@code z / c}, in float32. */
        private Tensor scaledByCap(Tensor logits) {
            Tensor scaled = Tensor.empty(TensorScope.current(), logits.device(), DType.F32, logits.shape());
            x.backend().elementwise().affine(logits, 1 / softCap, 0f, scaled);
            return scaled;
        }

        /** The capped logits {@code c * tanh(z / c)}, in float32, from {@code scaled} = z / c. */
        private Tensor capped(Tensor logits, Tensor scaled) {
            Tensor out = Tensor.empty(TensorScope.current(), logits.device(), DType.F32, logits.shape());
            x.backend().activations().activation(Activations.Kind.TANH, scaled, out);
            x.backend().elementwise().affine(out, softCap, 0f, out);
            return out;
        }

        /**
         * The chunks: {@code chunkRows} rows each, a last remainder of 8 rows or fewer joined to the chunk before it
         * (narrow products may take another kernel whose sums run in another order, see the class note).
         */
        private Range[] ranges() {
            int n = x.dim(0);
            int count = Math.max(1, (n + chunkRows - 1) / chunkRows);
            if (count > 1 && n - (long) (count - 1) * chunkRows <= NARROW_ROWS) {
                count--;
            }
            Range[] out = new Range[count];
            for (int i = 0; i < count; i++) {
                out[i] = new Range(i * chunkRows, i == count - 1 ? n : (i + 1) * chunkRows);
            }
            return out;
        }
    }

    /** Rows [start, end) of a contiguous tensor whose first dimension is the row. */
    private static Tensor rows(Tensor t, Range r) {
        return t.slice(0, r.start(), r.end());
    }
}
