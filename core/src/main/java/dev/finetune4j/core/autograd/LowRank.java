package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Tensor;

/**
 * A low-rank update added to a layer's output, LoRA's {@code y + s B A x} (Hu et al. 2021, eq. 3), as one op.
 * Composed from two linears, a scale and an add it would make four passes over the (rows, out) output and keep
 * three more arrays of that size for the backward; here the second product accumulates straight into the
 * result and the backward hands {@code dOut} to {@code y} untouched.
 */
public final class LowRank {
    private LowRank() {
    }

    /**
     * y + s (x A^T) B^T. y: (..., out), x: (..., in), a: (r, in), b: (out, r) -> (..., out).
     * Backward: dy = dOut; with dh = s dOut B (rows, r): dx = dh A, dA = dh^T x, dB = s dOut^T (x A^T).
     */
    public static Tensor add(Tensor y, Tensor x, Tensor a, Tensor b, float scaling) {
        int rank = a.dim(0);
        int in = a.dim(1);
        int out = b.dim(0);
        if (b.rank() != 2 || b.dim(1) != rank || x.dim(-1) != in || y.dim(-1) != out
                || y.shape().rows() != x.shape().rows()) {
            throw new IllegalArgumentException("low-rank update: x " + x.shape() + ", A " + a.shape() + ", B " + b.shape()
                    + " and y " + y.shape() + " do not fit (need A (r, in), B (out, r), x (..., in), y (..., out))");
        }
        int rows = x.shape().rows();
        float[] xv = Buffers.read(x);
        float[] av = Buffers.read(a);
        float[] bv = Buffers.read(b);
        Backend be = Buffers.backend();
        // h = x A^T: (rows, in) x (r, in)^T; kept unscaled for dB
        float[] h = new float[rows * rank];
        be.gemm(xv, 0, false, av, 0, true, h, 0, rows, rank, in, false);
        float[] hs = h.clone();
        for (int i = 0; i < hs.length; i++) {
            hs[i] *= scaling;
        }
        // out = y + (s h) B^T: (rows, r) x (out, r)^T
        float[] result = Buffers.floats(y);
        be.gemm(hs, 0, false, bv, 0, true, result, 0, rows, out, rank, true);
        return Autograd.record("lowRank", Buffers.tensor(result, y.shape()), dOut -> {
            float[] d = Buffers.read(dOut);
            // dh = s dOut B: (rows, out) x (out, r)
            float[] dh = new float[rows * rank];
            be.gemm(d, 0, false, bv, 0, false, dh, 0, rows, rank, out, false);
            for (int i = 0; i < dh.length; i++) {
                dh[i] *= scaling;
            }
            Tensor dx = null;
            if (x.requiresGrad()) {
                // dx = dh A: (rows, r) x (r, in)
                float[] g = new float[rows * in];
                be.gemm(dh, 0, false, av, 0, false, g, 0, rows, in, rank, false);
                dx = Buffers.tensor(g, x.shape());
            }
            Tensor da = null;
            if (a.requiresGrad()) {
                // dA = dh^T x: (r, rows) x (rows, in)
                float[] g = new float[rank * in];
                be.gemm(dh, 0, true, xv, 0, false, g, 0, rank, in, rows, false);
                da = Buffers.tensor(g, a.shape());
            }
            Tensor db = null;
            if (b.requiresGrad()) {
                // dB = dOut^T (s h): (out, rows) x (rows, r)
                float[] g = new float[out * rank];
                be.gemm(d, 0, true, hs, 0, false, g, 0, out, rank, rows, false);
                db = Buffers.tensor(g, b.shape());
            }
            return new Tensor[]{dOut, dx, da, db};
        }, y, x, a, b);
    }
}
