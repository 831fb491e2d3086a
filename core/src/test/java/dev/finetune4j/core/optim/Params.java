package dev.finetune4j.core.optim;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Small float32 parameters with gradients for the optimizer tests. */
final class Params {
    private Params() {
    }

    static Tensor param(TensorScope scope, float[] values, float[] grad) {
        Tensor p = Tensor.of(scope, values, values.length).requiresGrad(true);
        if (grad != null) {
            p.setGrad(Tensor.of(scope, grad, grad.length));
        }
        return p;
    }

    static void setGrad(Tensor p, float... grad) {
        for (int i = 0; i < grad.length; i++) {
            p.grad().setFlat(i, grad[i]);
        }
    }
}
