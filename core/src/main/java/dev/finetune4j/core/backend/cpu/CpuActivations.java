package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.tensor.Tensor;

/** TODO(port): placeholder until the op family moves behind the backend; the op still runs its own loops. */
final class CpuActivations implements ActivationKernels {
    CpuActivations(MathKernels math) {
    }

    @Override
    public void activation(Kind kind, Tensor x, Tensor y) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void activationBackward(Kind kind, Tensor x, Tensor dy, Tensor dx) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor y, Tensor sigmoid) {
        throw new UnsupportedOperationException("not ported yet");
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor sigmoid, Tensor dy, Tensor dGate, Tensor dUp) {
        throw new UnsupportedOperationException("not ported yet");
    }
}
