package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/** Checks and views that the ops share. */
final class Ops {
    private Ops() {
    }

    /**
     * @throws IllegalArgumentException when the tensors (nulls skipped) are not all on the device of the first
     */
    static void sameDevice(Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t != null && !t.device().equals(first.device())) {
                throw new IllegalArgumentException("operands on different devices: " + first + " on " + first.device()
                        + " and " + t + " on " + t.device() + "; copy one with Tensor.copyTo");
            }
        }
    }

    /** A contiguous tensor seen as a matrix of its rows: (..., C) -> (rows, C); no gradient is recorded. */
    static Tensor matrix(Tensor t) {
        Tensor c = t.detach().contiguous();
        Shape s = Shape.of(c.shape().rows(), c.dim(-1));
        return c.view(s, s.contiguousStrides(), c.offset());
    }
}
