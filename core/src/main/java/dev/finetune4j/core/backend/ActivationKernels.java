package dev.finetune4j.core.backend;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise activations and SwiGLU. All tensors of one call have the same shape; outputs contiguous. */
public interface ActivationKernels {

    /** {@code y = f(x)}. */
    void activation(Kind kind, Tensor x, Tensor y);

    /** (forward: y = f(x)) {@code dx = dy * f'(x)}. */
    void activationBackward(Kind kind, Tensor x, Tensor dy, Tensor dx);

    /** {@code y = silu(gate) * up} (Shazeer 2020); {@code sigmoid} receives {@code sigmoid(gate)} for the backward. */
    void swiglu(Tensor gate, Tensor up, Tensor y, Tensor sigmoid);

    /** (forward: {@link #swiglu}) {@code dGate = dy * up * silu'(gate)}, {@code dUp = dy * silu(gate)}. */
    void swigluBackward(Tensor gate, Tensor up, Tensor sigmoid, Tensor dy, Tensor dGate, Tensor dUp);
}
