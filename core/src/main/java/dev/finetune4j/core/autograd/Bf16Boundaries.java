package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Where the ops round to bf16 under {@link Precision#BF16_MIXED}; both return their argument under {@link Precision#F32}. */
final class Bf16Boundaries {
    private Bf16Boundaries() {
    }

    /**
     * An operand as a bf16 kernel reads it under the current precision: {@link #operand(Tensor, Precision)}.
     */
    static Tensor operand(Tensor t) {
        return operand(t, Precision.current());
    }

    /**
     * An operand as a bf16 kernel reads it: under {@link Precision#BF16_MIXED} a float32 {@code t} (may be null) is
     * rounded into a new bf16 tensor (not recorded), or read from the step's {@link Bf16Casts}; {@code t} itself,
     * often a parameter's master copy, is never changed. bf16, f16 and NF4 tensors (a product dequantizes an NF4
     * weight a block at a time, to bf16 beside a bf16 operand), and {@link Precision#F32}, return {@code t}.
     */
    static Tensor operand(Tensor t, Precision precision) {
        if (t == null || precision != Precision.BF16_MIXED || t.dtype() != DType.F32) {
            return t;
        }
        Tensor cast = Bf16Casts.castOf(t);
        return cast != null ? cast : t.to(DType.BF16);
    }

    /**
     * Frees {@code cast} when {@link #operand} made it from {@code original} (not one of the step's
     * {@link Bf16Casts}, which serve the whole step): a weight's bf16 cast serves one product, and the backward
     * casts again, so that a step does not keep a bf16 copy of every frozen float32 weight it used.
     */
    static void releaseCast(Tensor cast, Tensor original) {
        if (cast != original && cast != Bf16Casts.castOf(original)) {
            TensorScope.current().release(cast);
        }
    }

    /**
     * The dtype an op whose kernel can write bf16 itself (RMSNorm, SwiGLU, rotary) gives its activation: BF16 under
     * {@link Precision#BF16_MIXED}, computed in float32 and rounded once as {@link #output} would round it, so that
     * no float32 result is written, read and copied; F32 otherwise.
     */
    static DType activationDType() {
        return Precision.current() == Precision.BF16_MIXED ? DType.BF16 : DType.F32;
    }

    /**
     * The dtype a product of {@code x} and {@code w} writes its result in when it ran under {@code precision}:
     * BF16 under {@link Precision#BF16_MIXED} with bf16 operands, or an NF4 weight beside bf16 values
     * ({@link dev.finetune4j.core.backend.MatmulKernels} accumulates in float32 and rounds once, as {@link #output}
     * would round a float32 result); F32 otherwise.
     */
    static DType productDType(Tensor x, Tensor w, Precision precision) {
        boolean bf16 = precision == Precision.BF16_MIXED && x.dtype() == DType.BF16
                && (w.dtype() == DType.BF16 || w.dtype() == DType.NF4);
        return bf16 ? DType.BF16 : DType.F32;
    }

    /**
     * The activation an op keeps from its fresh result {@code out}: under {@link Precision#BF16_MIXED} a bf16 copy
     * of a float32 {@code out}, which is released at once (the op allocated it in the current scope and keeps no
     * view of it); {@code out} itself when it is bf16 already (a product that wrote bf16) or under
     * {@link Precision#F32}.
     */
    static Tensor output(Tensor out) {
        if (Precision.current() != Precision.BF16_MIXED || out.dtype() != DType.F32) {
            return out;
        }
        Tensor rounded = out.to(DType.BF16);
        TensorScope.current().release(out);
        return rounded;
    }

    /**
     * A float32 {@code out} rounded to bf16 values in place and kept as float32, under {@link Precision#BF16_MIXED}:
     * for a buffer that must stay float32 (the chunked head's float32 logits become their own gradient); returns
     * {@code out}, which a bf16 {@code out} (a product that wrote bf16) already is.
     */
    static Tensor roundInPlace(Tensor out) {
        if (Precision.current() == Precision.BF16_MIXED && out.dtype() == DType.F32) {
            Tensor rounded = out.to(DType.BF16);
            out.backend().copy().copy(rounded, out);
            TensorScope.current().release(rounded);
        }
        return out;
    }

    /**
     * A gradient as the backward's products read it: when the forward ran under {@link Precision#BF16_MIXED},
     * rounded into a new bf16 tensor, as PyTorch's autocast backward multiplies bf16 gradients (on a GPU a product
     * of float32 operands runs at a fraction of the tensor cores' rate); the product still accumulates and returns
     * float32. Otherwise {@code g} itself.
     *
     * @param g       a float32 gradient
     * @param forward the precision the op's forward ran in
     */
    static Tensor gradientOperand(Tensor g, Precision forward) {
        return forward == Precision.BF16_MIXED && g.dtype() == DType.F32 ? g.to(DType.BF16) : g;
    }
}
