package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/** Matrix products: {@link #linear} (the layers' workhorse) and batched {@link #matmul}. */
public final class Matmul {
    private Matmul() {
    }

    /**
     * y = x W^T + b, PyTorch's {@code F.linear}.
     * x: (..., in), w: (out, in), bias: (out) or null -> (..., out).
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        int in = x.dim(-1);
        int outF = w.dim(0);
        if (w.rank() != 2 || w.dim(1) != in) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " does not fit weight " + w.shape() + " (expected (out, " + in + "))");
        }
        int rows = x.shape().rows();
        float[] xv = Buffers.read(x);
        Weight wv = Weight.of(w);
        float[] bv = bias == null ? null : Buffers.read(bias);
        Backend be = Buffers.backend();
        Tensor out = Buffers.tensor(linearValues(be, xv, wv, bv, rows), x.shape().with(-1, outF));
        return Autograd.record("linear", out, dOut -> {
            float[] dy = Buffers.read(dOut);
            Tensor dx = x.requiresGrad() ? Buffers.tensor(inputGrad(be, dy, wv, rows), x.shape()) : null;
            return new Tensor[]{dx, weightGrad(be, dy, xv, w, rows), biasGrad(dy, bias, rows)};
        }, x, w, bias);
    }

    /** x W^T + b as values: x (rows, in), w (out, in), bv (out) or null -> (rows, out). */
    static float[] linearValues(Backend be, float[] xv, Weight wv, float[] bv, int rows) {
        int outF = wv.out();
        float[] y = new float[rows * outF];
        wv.timesTransposed(be, xv, y, rows);
        if (bv != null) {
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < outF; j++) {
                    y[r * outF + j] += bv[j];
                }
            }
        }
        return y;
    }

    /** (forward: y = x W^T) dx = dy W: (rows, out) x (out, in). */
    static float[] inputGrad(Backend be, float[] dy, Weight wv, int rows) {
        float[] g = new float[rows * wv.in()];
        wv.leftTimes(be, dy, g, rows);
        return g;
    }

    /** A linear layer's weight W (out, in) as its products read it: a frozen weight's cached layouts, or the values. */
    record Weight(float[] values, FrozenWeights.Entry frozen, int out, int in) {
        static Weight of(Tensor w) {
            FrozenWeights.Entry e = FrozenWeights.of(w);
            return new Weight(e != null ? e.values : Buffers.read(w), e, w.dim(0), w.dim(1));
        }

        /** y = x W^T: (rows, in) x (out, in)^T. */
        void timesTransposed(Backend be, float[] x, float[] y, int rows) {
            if (frozen != null) {
                be.gemm(x, 0, false, frozen.transposed(be), y, 0, rows, false);
            } else {
                be.gemm(x, 0, false, values, 0, true, y, 0, rows, out, in, false);
            }
        }

        /** g = dy W: (rows, out) x (out, in). */
        void leftTimes(Backend be, float[] dy, float[] g, int rows) {
            if (frozen != null) {
                be.gemm(dy, 0, false, frozen.plain(be), g, 0, rows, false);
            } else {
                be.gemm(dy, 0, false, values, 0, false, g, 0, rows, in, out, false);
            }
        }
    }

    /** dW = dy^T x: (out, rows) x (rows, in), or null when w needs no gradient. */
    static Tensor weightGrad(Backend be, float[] dy, float[] xv, Tensor w, int rows) {
        if (!w.requiresGrad()) {
            return null;
        }
        int outF = w.dim(0);
        int in = w.dim(1);
        float[] g = new float[outF * in];
        be.gemm(dy, 0, true, xv, 0, false, g, 0, outF, in, rows, false);
        return Buffers.tensor(g, w.shape());
    }

    /** db = the column sums of dy (rows, out), or null when there is no bias or it needs no gradient. */
    static Tensor biasGrad(float[] dy, Tensor bias, int rows) {
        if (bias == null || !bias.requiresGrad()) {
            return null;
        }
        int outF = bias.dim(0);
        float[] g = new float[outF];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < outF; j++) {
                g[j] += dy[r * outF + j];
            }
        }
        return Buffers.tensor(g, bias.shape());
    }

    /**
     * Batched matrix product. a: (..., M, K), b: (..., K, N) with the same leading dimensions, or b: (K, N)
     * shared by every batch -> (..., M, N).
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        int m = a.dim(-2);
        int k = a.dim(-1);
        int n = b.dim(-1);
        if (b.dim(-2) != k) {
            throw new IllegalArgumentException("matmul: " + a.shape() + " x " + b.shape() + ": inner dimensions " + k + " and " + b.dim(-2) + " differ");
        }
        int batch = Math.toIntExact(a.numel() / ((long) m * k));
        boolean shared = b.rank() == 2;
        if (!shared && b.numel() / ((long) k * n) != batch) {
            throw new IllegalArgumentException("matmul: batch dimensions of " + a.shape() + " and " + b.shape() + " differ");
        }
        float[] av = Buffers.read(a);
        float[] bv = Buffers.read(b);
        float[] c = new float[batch * m * n];
        Backend be = Buffers.backend();
        batched(batch, i -> be.gemm(av, i * m * k, false, bv, shared ? 0 : i * k * n, false, c, i * m * n, m, n, k, false));
        Shape outShape = a.shape().with(-1, n);
        Tensor out = Buffers.tensor(c, outShape);
        return Autograd.record("matmul", out, dOut -> {
            float[] dc = Buffers.read(dOut);
            Tensor da = null;
            Tensor db = null;
            if (a.requiresGrad()) {
                // dA = dC B^T: (M, N) x (N, K)
                float[] g = new float[av.length];
                batched(batch, i -> be.gemm(dc, i * m * n, false, bv, shared ? 0 : i * k * n, true, g, i * m * k, m, k, n, false));
                da = Buffers.tensor(g, a.shape());
            }
            if (b.requiresGrad()) {
                // dB = A^T dC: (K, M) x (M, N), summed over batches when B is shared
                float[] g = new float[bv.length];
                if (shared) {
                    for (int i = 0; i < batch; i++) {
                        be.gemm(av, i * m * k, true, dc, i * m * n, false, g, 0, k, n, m, true);
                    }
                } else {
                    batched(batch, i -> be.gemm(av, i * m * k, true, dc, i * m * n, false, g, i * k * n, k, n, m, false));
                }
                db = Buffers.tensor(g, b.shape());
            }
            return new Tensor[]{da, db};
        }, a, b);
    }

    private static void batched(int batch, java.util.function.IntConsumer body) {
        if (batch == 1) {
            body.accept(0);
        } else {
            IntStream.range(0, batch).parallel().forEach(body);
        }
    }
}
