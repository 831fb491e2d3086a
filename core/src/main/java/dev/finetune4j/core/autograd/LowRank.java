package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Tensor;

/**
 * A low-rank update of a layer's output, LoRA's {@code y + s B A x} (Hu et al. 2021, eq. 3), as one op.
 * Composed from two linears, a scale and an add it would make four passes over the (rows, out) output and keep
 * three more arrays of that size for the backward; here the second product accumulates straight into the
 * result. {@link #linear} also fuses the frozen base product, so that the input gradient of base and update is
 * one array.
 */
public final class LowRank {
    private LowRank() {
    }

    /**
     * y + s (x A^T) B^T. y: (..., out), x: (..., in), a: (r, in), b: (out, r) -> (..., out).
     * Backward: dy = dOut; with dh = s dOut B (rows, r): dx = dh A, dA = dh^T x, dB = s dOut^T (x A^T).
     */
    public static Tensor add(Tensor y, Tensor x, Tensor a, Tensor b, float scaling) {
        Update u = new Update(x, a, b, scaling);
        if (y.dim(-1) != u.out || y.shape().rows() != u.rows) {
            throw new IllegalArgumentException("low-rank update: y " + y.shape() + " does not fit x " + x.shape()
                    + " and B " + b.shape() + " (need y (..., out) with the rows of x)");
        }
        float[] result = Buffers.floats(y);
        u.addTo(result);
        return Autograd.record("lowRank", Buffers.tensor(result, y.shape()), dOut -> {
            float[] d = Buffers.read(dOut);
            float[] dh = u.dh(d);
            float[] dx = x.requiresGrad() ? new float[u.rows * u.in] : null;
            Tensor[] grads = u.backward(d, dh, dx);
            return new Tensor[]{dOut, grads[0], grads[1], grads[2]};
        }, y, x, a, b);
    }

    /**
     * x W^T + bias + s (x A^T) B^T: a linear layer and its LoRA update in one op. x: (..., in), w: (out, in),
     * bias: (out) or null, a: (r, in), b: (out, r) -> (..., out). Backward: as {@link Matmul#linear} plus
     * {@link #add}, with dx = dOut W + dh A accumulated in one array.
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b, float scaling) {
        Update u = new Update(x, a, b, scaling);
        if (w.rank() != 2 || w.dim(0) != u.out || w.dim(1) != u.in) {
            throw new IllegalArgumentException("low-rank linear: weight " + w.shape() + " does not fit A " + a.shape()
                    + " and B " + b.shape() + " (expected (" + u.out + ", " + u.in + "))");
        }
        Backend be = Buffers.backend();
        Matmul.Weight wv = Matmul.Weight.of(w);
        float[] result = Matmul.linearValues(be, u.xv, wv, bias == null ? null : Buffers.read(bias), u.rows);
        u.addTo(result);
        return Autograd.record("lowRankLinear", Buffers.tensor(result, x.shape().with(-1, u.out)), dOut -> {
            float[] d = Buffers.read(dOut);
            // dx = dOut W, to which u.backward adds the update's dh A
            float[] dx = x.requiresGrad() ? Matmul.inputGrad(be, d, wv, u.rows) : null;
            Tensor[] grads = u.backward(d, u.dh(d), dx);
            return new Tensor[]{grads[0], Matmul.weightGrad(be, d, u.xv, w, u.rows), Matmul.biasGrad(d, bias, u.rows),
                    grads[1], grads[2]};
        }, x, w, bias, a, b);
    }

    /** The update's operands and its forward product h = x A^T, shared by both ops' forward and backward. */
    private static final class Update {
        final Tensor x;
        final Tensor a;
        final Tensor b;
        final float scaling;
        final int rows;
        final int rank;
        final int in;
        final int out;
        final float[] xv;
        final float[] av;
        final float[] bv;
        /** s x A^T (rows, r). */
        final float[] hs;
        final Backend be = Buffers.backend();

        Update(Tensor x, Tensor a, Tensor b, float scaling) {
            this.rank = a.dim(0);
            this.in = a.dim(1);
            this.out = b.dim(0);
            if (a.rank() != 2 || b.rank() != 2 || b.dim(1) != rank || x.dim(-1) != in) {
                throw new IllegalArgumentException("low-rank update: x " + x.shape() + ", A " + a.shape() + ", B "
                        + b.shape() + " do not fit (need A (r, in), B (out, r), x (..., in))");
            }
            this.x = x;
            this.a = a;
            this.b = b;
            this.scaling = scaling;
            this.rows = x.shape().rows();
            this.xv = Buffers.read(x);
            this.av = Buffers.read(a);
            this.bv = Buffers.read(b);
            // h = x A^T: (rows, in) x (r, in)^T, scaled once here instead of on the (rows, out) result
            this.hs = new float[rows * rank];
            be.gemm(xv, 0, false, av, 0, true, hs, 0, rows, rank, in, false);
            for (int i = 0; i < hs.length; i++) {
                hs[i] *= scaling;
            }
        }

        /** result += (s h) B^T: (rows, r) x (out, r)^T. */
        void addTo(float[] result) {
            be.gemm(hs, 0, false, bv, 0, true, result, 0, rows, out, rank, true);
        }

        /** dh = s dOut B: (rows, out) x (out, r). */
        float[] dh(float[] d) {
            float[] dh = new float[rows * rank];
            be.gemm(d, 0, false, bv, 0, false, dh, 0, rows, rank, out, false);
            for (int i = 0; i < dh.length; i++) {
                dh[i] *= scaling;
            }
            return dh;
        }

        /** {dx, dA, dB}: dx (when {@code dx} is given) += dh A, dA = dh^T x, dB = dOut^T (s h). */
        Tensor[] backward(float[] d, float[] dh, float[] dx) {
            Tensor dxTensor = null;
            if (dx != null) {
                // dx += dh A: (rows, r) x (r, in)
                be.gemm(dh, 0, false, av, 0, false, dx, 0, rows, in, rank, true);
                dxTensor = Buffers.tensor(dx, x.shape());
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
            return new Tensor[]{dxTensor, da, db};
        }
    }
}
