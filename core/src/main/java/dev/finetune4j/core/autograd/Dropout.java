package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Inverted dropout: zero each element with probability p and scale the survivors by 1/(1-p). The mask is a pure
 * function of the key and the element's index ({@link dev.finetune4j.core.backend.Philox}), so every device draws
 * the same one and the backward redraws it instead of keeping it.
 */
public final class Dropout {
    private Dropout() {
    }

    /**
     * x: any shape -> x's shape; identity when p == 0.
     *
     * @param x the input
     * @param p the probability of zeroing an element, in [0, 1); kept elements are scaled by {@code 1 / (1 - p)}
     * @param key what the mask is drawn from: the same key gives the same mask, so give each use its own
     * @return the input with dropout applied
     */
    public static Tensor apply(Tensor x, float p, DropoutKey key) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0f) {
            return x;
        }
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().dropout().apply(x, p, key, out);
        return Autograd.record("dropout", out, dOut -> {
            // (forward: out = mask * x) dx = mask * dOut, the same mask redrawn from the key
            Tensor dx = Tensor.empty(dOut.device(), x.shape());
            dOut.backend().dropout().apply(dOut, p, key, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
