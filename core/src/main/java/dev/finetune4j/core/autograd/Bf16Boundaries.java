package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/** Where the ops round to bf16 under {@link Precision#BF16_MIXED}; both are no-ops under {@link Precision#F32}. */
final class Bf16Boundaries {
    private Bf16Boundaries() {
    }

    /**
     * An operand as a bf16 kernel reads it: a float32 {@code t} (may be null) is rounded into a new, detached
     * float32 tensor; {@code t} itself, often a parameter's master copy, is never changed. Other dtypes and
     * {@link Precision#F32} return {@code t}.
     */
    static Tensor operand(Tensor t) {
        if (t == null || t.dtype() != DType.F32 || Precision.current() != Precision.BF16_MIXED) {
            return t;
        }
        return t.to(DType.BF16).to(DType.F32);
    }

    /** Rounds an op's fresh contiguous float32 output to bf16 values in place; returns it. */
    static Tensor output(Tensor out) {
        if (Precision.current() == Precision.BF16_MIXED) {
            out.backend().copy().copy(out.to(DType.BF16), out);
        }
        return out;
    }
}
