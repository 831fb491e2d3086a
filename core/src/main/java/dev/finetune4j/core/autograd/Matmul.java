package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Matrix products: {@link #linear} (the layers' workhorse) and batched {@link #matmul}. */
public final class Matmul {
    private Matmul() {
    }

    /**
     * y = x W^T + b, PyTorch's {@code F.linear}.
     * x: (..., in), w: (out, in), bias: (out) or null -> (..., out).
     *
     * @param x the input, (..., in)
     * @param w the weight, (out, in)
     * @param bias the bias, (out), or null
     * @return the output, (..., out)
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        int in = x.dim(-1);
        if (w.rank() != 2 || w.dim(1) != in) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " does not fit weight " + w.shape() + " (expected (out, " + in + "))");
        }
        Ops.sameDevice(x, w, bias);
        Backend be = x.backend();
        Tensor xm = Ops.matrix(Bf16Boundaries.operand(x));
        Tensor wv = Bf16Boundaries.operand(w);
        Tensor out = Bf16Boundaries.output(linearOutput(be, xm, wv, Bf16Boundaries.operand(bias)));
        Bf16Boundaries.releaseCast(wv, w);
        Tensor result = out.view(x.shape().with(-1, w.dim(0)), x.shape().with(-1, w.dim(0)).contiguousStrides(), 0);
        Precision forward = Precision.current();
        return Autograd.record("linear", result, (dOut, into) -> {
            Tensor dy = Ops.matrix(dOut);
            Tensor dyOperand = Bf16Boundaries.gradientOperand(dy, forward);
            Tensor dx = x.requiresGrad() ? inputGrad(be, dyOperand, Bf16Boundaries.operand(w, forward), x.shape(),
                    GradNode.Accumulating.of(into, 0)) : null;
            return new Tensor[]{dx, weightGrad(be, dyOperand, xm, w), biasGrad(dy, bias)};
        }, x, w, bias);
    }

    /**
     * x W^T + b as a linear op keeps it: with bf16 operands, no bias and {@link Precision#BF16_MIXED}, the product
     * writes bf16 straight away (rounded once from float32, no float32 buffer); otherwise the float32
     * {@link #linearValues}, which {@link Bf16Boundaries#output} rounds.
     */
    static Tensor linearOutput(Backend be, Tensor x, Tensor w, Tensor bias) {
        DType product = Bf16Boundaries.productDType(x, w, Precision.current());
        if (bias != null || product != DType.BF16) {
            return linearValues(be, x, w, bias);
        }
        Tensor y = Tensor.empty(TensorScope.current(), x.device(), product, Shape.of(x.dim(0), w.dim(0)));
        be.matmul().gemm(x, false, w, true, y, 1f, false);
        return y;
    }

    /** x W^T + b: x (rows, in), w (out, in), bias (out) or null -> (rows, out). */
    static Tensor linearValues(Backend be, Tensor x, Tensor w, Tensor bias) {
        Tensor y = Tensor.empty(x.device(), Shape.of(x.dim(0), w.dim(0)));
        be.matmul().gemm(x, false, w, true, y, 1f, false);
        if (bias != null) {
            Elementwise.addInPlace(y, bias);
        }
        return y;
    }

    /** (forward: y = x W^T) dx = dy W: (rows, out) x (out, in), shaped like x. */
    static Tensor inputGrad(Backend be, Tensor dy, Tensor w, Shape xShape) {
        return inputGrad(be, dy, w, xShape, null);
    }

    /**
     * {@link #inputGrad(Backend, Tensor, Tensor, Shape)} added into {@code into} (the gradient of x accumulated so
     * far, {@link GradNode.Accumulating}) when it is not null, which is then returned.
     */
    static Tensor inputGrad(Backend be, Tensor dy, Tensor w, Shape xShape, Tensor into) {
        Tensor g = into != null ? into : Tensor.empty(dy.device(), xShape);
        be.matmul().gemm(dy, false, w, false, Ops.matrix(g), 1f, into != null);
        return g;
    }

    /** dW = dy^T x: (out, rows) x (rows, in), or null when w needs no gradient. */
    static Tensor weightGrad(Backend be, Tensor dy, Tensor x, Tensor w) {
        if (!w.requiresGrad()) {
            return null;
        }
        Tensor g = Tensor.empty(dy.device(), w.shape());
        be.matmul().gemm(dy, true, x, false, g, 1f, false);
        return g;
    }

    /** db = the column sums of dy (rows, out), or null when there is no bias or it needs no gradient. */
    static Tensor biasGrad(Tensor dy, Tensor bias) {
        if (bias == null || !bias.requiresGrad()) {
            return null;
        }
        return Reductions.sumTo(dy, bias.shape());
    }

    /**
     * Batched matrix product. a: (..., M, K), b: (..., K, N) with the same leading dimensions, or b: (K, N)
     * shared by every batch -> (..., M, N).
     *
     * @param a the left matrices, (..., M, K)
     * @param b the right matrices, (..., K, N) or (K, N)
     * @return the products, (..., M, N)
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        if (b.dim(-2) != k) {
            throw new IllegalArgumentException("matmul: " + a.shape() + " x " + b.shape() + ": inner dimensions " + k + " and " + b.dim(-2) + " differ");
        }
        long batch = a.numel() / ((long) m * k);
        boolean shared = b.rank() == 2;
        if (!shared && b.numel() / ((long) k * n) != batch) {
            throw new IllegalArgumentException("matmul: batch dimensions of " + a.shape() + " and " + b.shape() + " differ");
        }
        Ops.sameDevice(a, b);
        Backend be = a.backend();
        Tensor ac = Bf16Boundaries.operand(a).detach().contiguous();
        Tensor bc = Bf16Boundaries.operand(b).detach().contiguous();
        Tensor out = Tensor.empty(a.device(), a.shape().with(-1, n));
        be.matmul().gemm(ac, false, bc, false, out, 1f, false);
        Precision forward = Precision.current();
        return Autograd.record("matmul", Bf16Boundaries.output(out), dOut -> {
            Tensor dc = Bf16Boundaries.gradientOperand(dOut.detach().contiguous(), forward);
            Tensor da = null;
            Tensor db = null;
            if (a.requiresGrad()) {
                // dA = dC B^T: (M, N) x (N, K)
                da = Tensor.empty(a.device(), a.shape());
                be.matmul().gemm(dc, false, bc, true, da, 1f, false);
            }
            if (b.requiresGrad()) {
                db = Tensor.empty(b.device(), b.shape());
                if (shared) {
                    // dB = sum over batches of A^T dC = (all rows of A)^T (all rows of dC): (K, rows) x (rows, N)
                    be.matmul().gemm(Ops.matrix(ac), true, Ops.matrix(dc), false, db, 1f, false);
                } else {
                    // dB = A^T dC: (K, M) x (M, N) per batch
                    be.matmul().gemm(ac, true, dc, false, db, 1f, false);
                }
            }
            return new Tensor[]{da, db};
        }, a, b);
    }

    /**
     * x times a (k, n) matrix held in an NF4 tensor from element {@code first} on (row-major): an expert's slice of a
     * stacked, quantized weight. The matrix is dequantized into a scratch tensor for the product and again for the
     * backward, never kept: a step over many experts holds their NF4 codes only. x: (..., k) -> (..., n); the NF4
     * tensor is frozen (no gradient).
     *
     * @param x the input, (..., k)
     * @param nf4 the NF4 tensor holding the matrix
     * @param first the index of the matrix's first value in {@code nf4}
     * @param k the matrix's rows
     * @param n the matrix's columns
     * @return the product, (..., n)
     */
    public static Tensor matmulNf4Slice(Tensor x, Tensor nf4, long first, int k, int n) {
        return matmulNf4Slice(x, nf4, first, k, n, false);
    }

    /**
     * {@link #matmulNf4Slice(Tensor, Tensor, long, int, int)}, or with {@code transposed} x times the transpose of the
     * (rows, cols) matrix, as a linear layer multiplies by its (out, in) weight: x (..., cols) -> (..., rows).
     *
     * @param x the input, (..., rows), or (..., cols) when {@code transposed}
     * @param nf4 the NF4 tensor holding the matrix
     * @param first the index of the matrix's first value in {@code nf4}
     * @param rows the matrix's rows
     * @param cols the matrix's columns
     * @param transposed whether x multiplies the matrix's transpose
     * @return the product, (..., cols), or (..., rows) when {@code transposed}
     */
    public static Tensor matmulNf4Slice(Tensor x, Tensor nf4, long first, int rows, int cols, boolean transposed) {
        int in = transposed ? cols : rows;
        int out = transposed ? rows : cols;
        if (nf4.dtype() != DType.NF4 || x.dim(-1) != in || first < 0 || first + (long) rows * cols > nf4.numel()) {
            throw new IllegalArgumentException("matmulNf4Slice: " + x.shape() + " times the " + (transposed ? "transpose "
                    + "of the " : "") + "(" + rows + ", " + cols + ") matrix from element " + first + " of " + nf4
                    + " do not fit (need an NF4 tensor holding the matrix, x (..., " + in + "))");
        }
        Ops.sameDevice(x, nf4);
        Backend be = x.backend();
        Tensor xm = Ops.matrix(x.detach().to(DType.F32).contiguous());
        Tensor product = Tensor.empty(x.device(), Shape.of(xm.dim(0), out));
        try (TensorScope scratch = TensorScope.detached(x.device())) {
            be.matmul().gemm(xm, false, dequantized(nf4, first, rows, cols, scratch), transposed, product, 1f, false);
        }
        Tensor result = Bf16Boundaries.output(product.reshape(x.shape().with(-1, out).dims()));
        return Autograd.record("matmulNf4Slice", result, dOut -> {
            Tensor dx = Tensor.empty(x.device(), Shape.of(xm.dim(0), in));
            try (TensorScope scratch = TensorScope.detached(x.device())) {
                // y = x W: dx = dy W^T; y = x W^T: dx = dy W
                be.matmul().gemm(Ops.matrix(dOut.detach().contiguous()), false,
                        dequantized(nf4, first, rows, cols, scratch), !transposed, dx, 1f, false);
            }
            return new Tensor[]{dx.reshape(x.shape().dims())};
        }, x);
    }

    /** The (k, n) float32 matrix at {@code first} of {@code nf4}, in {@code scratch}. */
    private static Tensor dequantized(Tensor nf4, long first, int k, int n, TensorScope scratch) {
        Tensor w = Tensor.empty(scratch, nf4.device(), DType.F32, Shape.of(k, n));
        nf4.backend().quantization().dequantizeNf4(nf4, first, w);
        return w;
    }
}
