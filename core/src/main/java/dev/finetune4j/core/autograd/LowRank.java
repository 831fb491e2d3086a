package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.ElementwiseKernels.BinaryOp;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.function.BiConsumer;

/**
 * A low-rank update of a layer's output, LoRA's {@code y + s B A x} (Hu et al. 2021, eq. 3), as one op.
 * Composed from two linears, a scale and an add it would make four passes over the (rows, out) output and keep
 * three more arrays of that size for the backward; here the second product accumulates straight into the
 * result. {@link #linear} also fuses the frozen base product, so that the input gradient of base and update is
 * one tensor; {@link #weightDecomposed} is the same product rescaled per output, DoRA's layer.
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
        Tensor result = Tensor.empty(y.device(), Shape.of(u.rows, u.out));
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
        // under BF16_MIXED without a bias: x W^T rounded to bf16, then the update added to it and rounded again
        Tensor result = Matmul.linearOutput(u.be, u.x, wv, Bf16Boundaries.operand(bias));
        Bf16Boundaries.releaseCast(wv, w);
        u.addTo(result);
        Tensor stored = Bf16Boundaries.output(result);
        Shape outShape = x.shape().with(-1, u.out);
        Tensor y = stored.view(outShape, outShape.contiguousStrides(), 0);
        return Autograd.record("lowRankLinear", y, (dOut, into) -> {
            Tensor d = u.gradientOperand(Ops.matrix(dOut));
            // dx = dOut W (added into x's gradient so far when the backward pass offers it), then u.backward adds the
            // update's dh A
            Tensor dx = x.requiresGrad() ? Matmul.inputGrad(u.be, d, Bf16Boundaries.operand(w, u.forward), x.shape(),
                    GradNode.Accumulating.of(into, 0)) : null;
            Tensor[] grads = u.backward(d, u.dh(d), dx);
            return new Tensor[]{grads[0], Matmul.weightGrad(u.be, d, u.x, w), Matmul.biasGrad(Ops.matrix(dOut), bias),
                    grads[1], grads[2]};
        }, x, w, bias, a, b);
    }

    /**
     * DoRA's layer (Liu et al. 2024, eq. 5) as one op, in the form of PEFT's {@code DoraLinearLayer}: y = x W^T + bias
     * + (g - 1) (x' W^T) + g s (x' A^T) B^T, where x' is the adapter's input (dropout(x) in training with dropout,
     * else x itself, which makes y = g (x W^T + s (x A^T) B^T) + bias), g = m / n per output and n the row norms of
     * W + s B A, a constant for autograd (section 4.3; PEFT detaches it too). x and x': (..., in), w: (out, in),
     * bias: (out) or null, a: (r, in), b: (out, r), magnitude m and norm n: (out) -> (..., out).
     *
     * <p>Backward, with z = x' W^T + s (x' A^T) B^T and dz = g dOut: dm = (sum over rows of dOut z) / n, dbias = the
     * column sums of dOut, dx' = (dz - dOut) W + s dz B A and dx = dOut W when x' is not x (dx = dz W + s dz B A when
     * it is), dA and dB as {@link #add} with dz in place of dOut, dW = dOut^T x + (dz - dOut)^T x'.
     *
     * <p>Composed from elementwise ops this layer would keep several float32 (rows, out) arrays until the step ends;
     * this op keeps its output and z, each in bf16 under {@link Precision#BF16_MIXED}: one (rows, out) activation
     * more than {@link #linear} keeps for a plain LoRA layer.
     *
     * @param x the input, (..., in)
     * @param dropped the adapter's input x', shaped like x: {@code x} itself when there is no dropout
     * @param w the frozen weight, (out, in)
     * @param bias the bias, (out), or null
     * @param a the down projection A, (r, in)
     * @param b the up projection B, (out, r)
     * @param scaling the factor s, e.g. {@code alpha / r}
     * @param magnitude the learned magnitude m, (out)
     * @param norm the row norms n of W + s B A, (out); no gradient flows into it
     * @return the layer's output, (..., out)
     */
    public static Tensor weightDecomposed(Tensor x, Tensor dropped, Tensor w, Tensor bias, Tensor a, Tensor b,
                                          float scaling, Tensor magnitude, Tensor norm) {
        Update u = new Update(dropped, a, b, scaling);
        if (w.rank() != 2 || w.dim(0) != u.out || w.dim(1) != u.in) {
            throw new IllegalArgumentException("weight-decomposed linear: weight " + w.shape() + " does not fit A "
                    + a.shape() + " and B " + b.shape() + " (expected (" + u.out + ", " + u.in + "))");
        }
        if (!x.shape().equals(dropped.shape())) {
            throw new IllegalArgumentException("weight-decomposed linear: the adapter's input " + dropped.shape()
                    + " must be shaped like the input " + x.shape() + " (dropout keeps the shape)");
        }
        Shape perOutput = Shape.of(u.out);
        if (!magnitude.shape().equals(perOutput) || !norm.shape().equals(perOutput)) {
            throw new IllegalArgumentException("weight-decomposed linear: magnitude " + magnitude.shape() + " and norm "
                    + norm.shape() + " must both be " + perOutput + ", one value per output of the weight " + w.shape());
        }
        Ops.sameDevice(x, dropped, w, bias, a, b, magnitude, norm);
        boolean dropout = dropped != x;
        Tensor xv = dropout ? Ops.matrix(Bf16Boundaries.operand(x)) : u.x;
        Tensor nv = norm.detach();
        Tensor g = Tensor.empty(x.device(), perOutput);
        u.be.elementwise().binary(BinaryOp.DIV, magnitude.detach(), nv, g);
        Tensor wv = Bf16Boundaries.operand(w);
        // with dropout, x W^T - x' W^T, to which g z is added below
        Tensor base = dropout ? Matmul.linearValues(u.be, xv, wv, null) : null;
        Tensor sum = Matmul.linearValues(u.be, u.x, wv, null);
        Bf16Boundaries.releaseCast(wv, w);
        if (dropout) {
            u.be.elementwise().binary(BinaryOp.SUB, base, sum, base);
        }
        u.addTo(sum);
        // z = x' W^T + s (x' A^T) B^T, kept for the magnitude's gradient (bf16 under BF16_MIXED, its float32 freed)
        Tensor z = Bf16Boundaries.output(sum);
        Tensor y = Tensor.empty(x.device(), Shape.of(u.rows, u.out));
        u.be.elementwise().binary(BinaryOp.MUL, z, g.expand(z.shape()), y);
        if (dropout) {
            u.be.elementwise().binary(BinaryOp.ADD, y, base, y);
            TensorScope.current().release(base);
        }
        if (bias != null) {
            Elementwise.addInPlace(y, bias);
        }
        Tensor stored = Bf16Boundaries.output(y);
        Shape outShape = x.shape().with(-1, u.out);
        return Autograd.record("weightDecomposed", stored.view(outShape, outShape.contiguousStrides(), 0), dOut -> {
            Tensor d = Ops.matrix(dOut);
            Tensor dz = Tensor.empty(d.device(), d.shape());
            u.be.elementwise().binary(BinaryOp.MUL, d, g.expand(d.shape()), dz);
            Tensor wb = Bf16Boundaries.operand(w, u.forward);
            // the gradient of x' W^T: dz - dOut with dropout, dz without; the products read gradients as operands
            Tensor dBase = dz;
            Tensor dOperand = null;
            Tensor dx = null;
            if (dropout) {
                dBase = Tensor.empty(d.device(), d.shape());
                u.be.elementwise().binary(BinaryOp.SUB, dz, d, dBase);
                dOperand = u.gradientOperand(d);
                dx = x.requiresGrad() ? Matmul.inputGrad(u.be, dOperand, wb, x.shape()) : null;
            }
            Tensor dBaseOperand = u.gradientOperand(dBase);
            Tensor dzOperand = dropout ? u.gradientOperand(dz) : dBaseOperand;
            // dx' = dBase W, to which u.backward adds the update's dh A
            Tensor dxd = dropped.requiresGrad() ? Matmul.inputGrad(u.be, dBaseOperand, wb, x.shape()) : null;
            Tensor[] update = u.backward(dzOperand, u.dh(dzOperand), dxd);
            Tensor dw = Matmul.weightGrad(u.be, dBaseOperand, u.x, w);
            if (dw != null && dropout) {
                // dW += dOut^T x, the base product's share
                u.be.matmul().gemm(dOperand, true, xv, false, dw, 1f, true);
            }
            Tensor dm = magnitude.requiresGrad() ? Elementwise.div(Reductions.dot(d, z, 0), nv) : null;
            return new Tensor[]{dropout ? dx : update[0], dropout ? update[0] : null, dw, Matmul.biasGrad(d, bias),
                    update[1], update[2], dm};
        }, x, dropped, w, bias, a, b, magnitude);
    }

    /** The update's operands and its forward product s h = s x A^T, shared by both ops' forward and backward. */
    private static final class Update {
        final Backend be;
        final Tensor x;
        final Tensor a;
        final Tensor b;
        /** A and B as the caller passed them: the parameters whose gradients the backward makes. */
        final Tensor aParam;
        final Tensor bParam;
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
            this.aParam = a;
            this.bParam = b;
            this.aNeedsGrad = a.requiresGrad();
            this.bNeedsGrad = b.requiresGrad();
            this.x = Ops.matrix(Bf16Boundaries.operand(x));
            this.a = Bf16Boundaries.operand(a).detach().contiguous();
            this.b = Bf16Boundaries.operand(b).detach().contiguous();
            this.scaling = scaling;
            this.rows = this.x.dim(0);
            // h = x A^T: (rows, in) x (r, in)^T, scaled once here instead of on the (rows, out) result
            Tensor h = Tensor.empty(TensorScope.current(), x.device(),
                    Bf16Boundaries.productDType(this.x, this.a, forward), Shape.of(rows, rank));
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

        /**
         * dh = s dOut B: (rows, out) x (out, r), as the backward's products read it (written as bf16 by the product
         * itself where {@link #gradientOperand} would round it).
         */
        Tensor dh(Tensor d) {
            Tensor dh = Tensor.empty(TensorScope.current(), d.device(), Bf16Boundaries.productDType(d, b, forward),
                    Shape.of(rows, rank));
            be.matmul().gemm(d, false, b, false, dh, scaling, false);
            return gradientOperand(dh);
        }

        /**
         * {dx, dA, dB}: dx (when given, shaped like the input) += dh A, dA = dh^T x, dB = dOut^T (s h), each null
         * where no gradient is needed or where it went straight into its parameter's gradient ({@link #gradient}).
         */
        Tensor[] backward(Tensor d, Tensor dh, Tensor dx) {
            if (dx != null) {
                // dx += dh A: (rows, r) x (r, in)
                be.matmul().gemm(dh, false, a, false, Ops.matrix(dx), 1f, true);
            }
            // dA = dh^T x: (r, rows) x (rows, in)
            Tensor da = aNeedsGrad ? gradient(aParam, (target, add) -> be.matmul().gemm(dh, true, x, false, target, 1f, add))
                    : null;
            // dB = dOut^T (s h): (out, rows) x (rows, r)
            Tensor db = bNeedsGrad ? gradient(bParam, (target, add) -> be.matmul().gemm(d, true, hs, false, target, 1f, add))
                    : null;
            return new Tensor[]{dx, da, db};
        }

        /**
         * The gradient {@code product} makes for {@code param}: when the parameter is a leaf (an adapter's A or B), the
         * product accumulates straight into its gradient, made on first use as the backward pass would make it, and
         * null is returned (no temporary, no separate add: two launches fewer per matrix and step); otherwise a new
         * tensor for the backward pass to hand on.
         */
        private Tensor gradient(Tensor param, BiConsumer<Tensor, Boolean> product) {
            Tensor acc = param.grad();
            boolean usable = acc == null || acc.dtype() == DType.F32 && acc.isContiguous()
                    && acc.shape().equals(param.shape());
            if (param.gradFn() != null || !usable) {
                Tensor g = Tensor.empty(param.device(), param.shape());
                product.accept(g, false);
                return g;
            }
            if (acc == null) {
                acc = Tensor.empty(param.scope(), param.device(), DType.F32, param.shape());
                param.setGrad(acc);
                product.accept(acc, false);
            } else {
                product.accept(acc, true);
            }
            return null;
        }
    }
}
