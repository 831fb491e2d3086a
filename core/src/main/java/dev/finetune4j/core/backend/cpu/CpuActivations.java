package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise activations and SwiGLU on the CPU: f and f' in double, rounded once; SwiGLU's sigmoid from {@link MathKernels}. */
final class CpuActivations implements ActivationKernels {
    private final MathKernels math;

    CpuActivations(MathKernels math) {
        this.math = math;
    }

    @Override
    public void activation(Kind kind, Tensor x, Tensor y) {
        float[] xv = CpuTensors.read(x);
        float[] o = CpuTensors.output(y);
        Parallel.chunks(o.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                o[i] = (float) kind.value(xv[i]);
            }
        });
        CpuTensors.commit(y, o);
    }

    @Override
    public void activationBackward(Kind kind, Tensor x, Tensor dy, Tensor dx) {
        float[] xv = CpuTensors.read(x);
        float[] d = CpuTensors.read(dy);
        float[] o = CpuTensors.output(dx);
        Parallel.chunks(o.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                o[i] = d[i] * (float) kind.derivative(xv[i]);
            }
        });
        CpuTensors.commit(dx, o);
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor y, Tensor sigmoid) {
        float[] g = CpuTensors.read(gate);
        float[] u = CpuTensors.read(up);
        float[] o = CpuTensors.output(y);
        float[] sig = CpuTensors.output(sigmoid);
        Parallel.chunks(o.length, (from, to) -> {
            math.sigmoid(g, sig, from, to);
            for (int i = from; i < to; i++) {
                o[i] = g[i] * sig[i] * u[i];
            }
        });
        CpuTensors.commit(y, o);
        CpuTensors.commit(sigmoid, sig);
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor sigmoid, Tensor dy, Tensor dGate, Tensor dUp) {
        float[] g = CpuTensors.read(gate);
        float[] u = CpuTensors.read(up);
        float[] sig = CpuTensors.read(sigmoid);
        float[] d = CpuTensors.read(dy);
        float[] dg = CpuTensors.output(dGate);
        float[] du = CpuTensors.output(dUp);
        Parallel.chunks(d.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                // silu'(g) = s (1 + g (1 - s)) with s = sigmoid(g)
                dg[i] = d[i] * u[i] * sig[i] * (1 + g[i] * (1 - sig[i]));
                du[i] = d[i] * g[i] * sig[i];
            }
        });
        CpuTensors.commit(dGate, dg);
        CpuTensors.commit(dUp, du);
    }
}
