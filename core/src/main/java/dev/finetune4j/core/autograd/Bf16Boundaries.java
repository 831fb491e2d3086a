package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Where the ops round to bf16 under {@link Precision#BF16_MIXED}; both return their argument under {@link Precision#F32}. */
final class Bf16Boundaries {
    private Bf16Boundaries() {
    }

    /**
     * An operand as a bf16 kernel reads it: a float32 {@code t} (may be null) is rounded into a new bf16 tensor
     * (not recorded); {@code t} itself, often a parameter's master copy, is never changed. Other dtypes and
     * {@link Precision#F32} return {@code t}.
     */
    static Tensor operand(Tensor t) {
        if (t == null || t.dtype() != DType.F32 || Precision.current() != Precision.BF16_MIXED) {
            return t;
        }
        return t.to(DType.BF16);
    }

    /**
     * The activation an op keeps from its fresh float32 result {@code out}: under {@link Precision#BF16_MIXED} a
     * bf16 copy, and {@code out} is released at once (the op allocated it in the current scope and keeps no view
     * of it); under {@link Precision#F32}, {@code out} itself.
     */
    static Tensor output(Tensor out) {
        if (Precision.current() != Precision.BF16_MIXED) {
            return out;
        }
        Tensor rounded = out.to(DType.BF16);
        TensorScope.current().release(out);
        return rounded;
    }

    /**
     * {@code out} rounded to bf16 values in place and kept as float32, under {@link Precision#BF16_MIXED}: for a
     * buffer that must stay float32 (the chunked head's logits become their own gradient); returns {@code out}.
     */
    static Tensor roundInPlace(Tensor out) {
        if (Precision.current() == Precision.BF16_MIXED) {
            Tensor rounded = out.to(DType.BF16);
            out.backend().copy().copy(rounded, out);
            TensorScope.current().release(rounded);
        }
        return out;
    }
}
