package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/**
 * A low-rank update of a layer's output, LoRA's {@code y + s B A x} (Hu et al. 2021, eq. 3), as one op.
 * Composed from two linears, a scale and an add it would make four passes over the (rows, out) output and keep
 * three more arrays of that size for the backward; here the second product accumulates straight into the
 * result. {@link #linear} also fuses the frozen base product, so that the input gradient of base and update is
 * one tensor.
 */
public final class LowRank {
    private LowRank() {
    }

    /**
     * y + s (x A^T) B^T. y: (..., out), x: (..., in), a: (r, in), b: (out, r) -> (..., out).
     * Backward: dy = dOut; with dh = s dOut B (rows, r): dx = dh A, dA = dh^T x, dB = s dOut^T (x A^T).
     *
     * @param y the base layer's output, (..., out)
     * @param x the input, (..., in)
     * @param a the down projection A, (r, in)
     * @param b the up projection B, (out, r)
     * @param scaling the factor s, e.g. {@code alpha / r}
     * @return {@code y} plus the low-rank update, (..., out)
     */
    public static Tensor add(Tensor y, Tensor x, Tensor a, Tensor b, float scaling) {
        Update u = new Update(x, a, b, scaling);
        if (y.dim(-1) != u.out || y.shape().rows() != u.rows) {
            throw new IllegalArgumentException("low-rank update: y " + y.shape() + " does not fit x " + x.shape()
                    + " and B " + b.shape() + " (need y (..., out) with the rows of x)");
        }
        Ops.sameDevice(y, x, a, b);
        Tensor result = Tensor.zeros(y.device(), Shape.of(u.rows, u.out));
        u.be.copy().copy(Ops.matrix(y), result);
        u.addTo(result);
        Tensor stored = Bf16Boundaries.output(result);
        return Autograd.record("lowRank", stored.view(y.shape(), y.shape().contiguousStrides(), 0), dOut -> {
            Tensor d = u.gradientOperand(Ops.matrix(dOut));
            Tensor[] grads = u.backward(d, u.dh(d), x.requiresGrad() ? Tensor.zeros(x.device(), x.shape()) : null);
            return new Tensor[]{dOut, grads[0], grads[1], grads[2]};
        }, y, x, a, b);
    }

    /**
     * x W^T + bias + s (x A^T) B^T: a linear layer and its LoRA update in one op. x: (..., in), w: (out, in),
     * bias: (out) or null, a: (r, in), b: (out, r) -> (..., out). Backward: as {@link Matmul#linear} plus
     * {@link #add}, with dx = dOut W + dh A accumulated in one tensor.
     *
     * @param x the input, (..., in)
     * @param w the frozen weight, (out, in)
     * @param bias the bias, (out), or null
     * @param a the down projection A, (r, in)
     * @param b the up projection B, (out, r)
     * @param scaling the factor s, e.g. {@code alpha / r}
     * @return the layer's output, (..., out)
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor a, Tensor b, float scaling) {
        Update u = new Update(x, a, b, scaling);
        if (w.rank() != 2 || w.dim(0) != u.out || w.dim(1) != u.in) {
            throw new IllegalArgumentException("low-rank linear: weight " + w.shape() + " does not fit A " + a.shape()
                    + " and B " + b.shape() + " (expected (" + u.out + ", " + u.in + "))");
        }
        Ops.sameDevice(x, w, bias, a, b);
        Tensor wv = Bf16Boundaries.operand(w);
        Tensor result = Matmul.linearValues(u.be, u.x, wv, Bf16Boundaries.operand(bias));
        Bf16Boundaries.releaseCast(wv, w);
        u.addTo(result);
        Tensor stored = Bf16Boundaries.output(result);
        Shape outShape = x.shape().with(-1, u.out);
        return Autograd.record("lowRankLinear", stored.view(outShape, outShape.contiguousStrides(), 0), dOut -> {
            Tensor d = u.gradientOperand(Ops.matrix(dOut));
            // dx = dOut W, to which u.backward adds the update's dh A
            Tensor dx = x.requiresGrad() ? Matmul.inputGrad(u.be, d, Bf16Boundaries.operand(w, u.forward), x.shape())
                    : null;
            Tensor[] grads = u.backward(d, u.dh(d), dx);
            return new Tensor[]{grads[0], Matmul.weightGrad(u.be, d, u.x, w), Matmul.biasGrad(Ops.matrix(dOut), bias),
                    grads[1], grads[2]};
        }, x, w, bias, a, b);
    }

    /** The update's operands and its forward product s h = s x A^T, shared by both ops' forward and backward. */
    private static final class Update {
        final Backend be;
        final Tensor x;
        final Tensor a;
        final Tensor b;
        final boolean aNeedsGrad;
        final boolean bNeedsGrad;
        final float scaling;
        final int rows;
        final int rank;
        final int in;
        final int out;
        /** s x A^T (rows, r). */
        final Tensor hs;
        /** The precision of the forward, which decides how the backward's products read gradients. */
        final Precision forward = Precision.current();

        Update(Tensor x, Tensor a, Tensor b, float scaling) {
            this.rank = a.dim(0);
            this.in = a.dim(1);
            this.out = b.dim(0);
            if (a.rank() != 2 || b.rank() != 2 || b.dim(1) != rank || x.dim(-1) != in) {
                throw new IllegalArgumentException("low-rank update: x " + x.shape() + ", A " + a.shape() + ", B "
                        + b.shape() + " do not fit (need A (r, in), B (out, r), x (..., in))");
            }
            this.be = x.backend();
            this.aNeedsGrad = a.requiresGrad();
            this.bNeedsGrad = b.requiresGrad();
            this.x = Ops.matrix(Bf16Boundaries.operand(x));
            this.a = Bf16Boundaries.operand(a).detach().contiguous();
            this.b = Bf16Boundaries.operand(b).detach().contiguous();
            this.scaling = scaling;
            this.rows = this.x.dim(0);
            // h = x A^T: (rows, in) x (r, in)^T, scaled once here instead of on the (rows, out) result
            Tensor h = Tensor.zeros(x.device(), Shape.of(rows, rank));
            be.matmul().gemm(this.x, false, this.a, true, h, scaling, false);
            this.hs = Bf16Boundaries.output(h);
        }

        /** result += (s h) B^T: (rows, r) x (out, r)^T. */
        void addTo(Tensor result) {
            be.matmul().gemm(hs, false, b, true, result, 1f, true);
        }

        /** {@link Bf16Boundaries#gradientOperand} under this update's forward precision. */
        Tensor gradientOperand(Tensor g) {
            return Bf16Boundaries.gradientOperand(g, forward);
        }

        /** dh = s dOut B: (rows, out) x (out, r), as the backward's products read it. */
        Tensor dh(Tensor d) {
            Tensor dh = Tensor.zeros(d.device(), Shape.of(rows, rank));
            be.matmul().gemm(d, false, b, false, dh, scaling, false);
            return gradientOperand(dh);
        }

        /**
         * {dx, dA, dB}: dx (when given, shaped like the input) += dh A, dA = dh^T x, dB = dOut^T (s h), each null
         * where no gradient is needed.
         */
        Tensor[] backward(Tensor d, Tensor dh, Tensor dx) {
            if (dx != null) {
                // dx += dh A: (rows, r) x (r, in)
                be.matmul().gemm(dh, false, a, false, Ops.matrix(dx), 1f, true);
            }
            Tensor da = null;
            if (aNeedsGrad) {
                // dA = dh^T x: (r, rows) x (rows, in)
                da = Tensor.zeros(d.device(), a.shape());
                be.matmul().gemm(dh, true, x, false, da, 1f, false);
            }
            Tensor db = null;
            if (bNeedsGrad) {
                // dB = dOut^T (s h): (out, rows) x (rows, r)
                db = Tensor.zeros(d.device(), b.shape());
                be.matmul().gemm(d, true, hs, false, db, 1f, false);
            }
            return new Tensor[]{dx, da, db};
        }
    }
}
