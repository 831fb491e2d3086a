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
    public void swiglu(Tensor gate, Tensor up, Tensor y) {
        float[] g = CpuTensors.read(gate);
        float[] u = CpuTensors.read(up);
        float[] o = CpuTensors.floatOutput(y);
        Parallel.chunks(o.length, (from, to) -> {
            // the sigmoids land in y's chunk first, then the product replaces them element by element
            math.sigmoid(g, o, from, to);
            for (int i = from; i < to; i++) {
                o[i] = g[i] * o[i] * u[i];
            }
        });
        CpuTensors.commit(y, o);
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp) {
        float[] g = CpuTensors.read(gate);
        float[] u = CpuTensors.read(up);
        float[] d = CpuTensors.read(dy);
        float[] dg = CpuTensors.floatOutput(dGate);
        float[] du = CpuTensors.floatOutput(dUp);
        Parallel.chunks(d.length, (from, to) -> {
            // s = sigmoid(g) as the forward computed it, parked in dUp's chunk until dUp replaces it
            math.sigmoid(g, du, from, to);
            for (int i = from; i < to; i++) {
                float s = du[i];
                // silu'(g) = s (1 + g (1 - s))
                dg[i] = d[i] * u[i] * s * (1 + g[i] * (1 - s));
                du[i] = d[i] * g[i] * s;
            }
        });
        CpuTensors.commit(dGate, dg);
        CpuTensors.commit(dUp, du);
    }

    @Override
    public void clampedSwiglu(Tensor gateUp, float alpha, float limit, Tensor y) {
        float[] x = CpuTensors.read(gateUp);
        float[] o = CpuTensors.floatOutput(y);
        Parallel.chunks(o.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                double g = Math.min(x[2 * i], limit);
                double u = Math.min(Math.max(x[2 * i + 1], -limit), limit);
                o[i] = (float) ((u + 1) * g / (1 + Math.exp(-alpha * g)));
            }
        });
        CpuTensors.commit(y, o);
    }

    @Override
    public void clampedSwigluBackward(Tensor gateUp, float alpha, float limit, Tensor dy, Tensor dGateUp) {
        float[] x = CpuTensors.read(gateUp);
        float[] d = CpuTensors.read(dy);
        float[] o = CpuTensors.floatOutput(dGateUp);
        Parallel.chunks(d.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                double gate = x[2 * i];
                double up = x[2 * i + 1];
                double g = Math.min(gate, limit);
                double s = 1 / (1 + Math.exp(-alpha * g));
                // d/dg [g sigmoid(alpha g)] = s + alpha g s (1 - s); a clamped input passes no gradient
                o[2 * i] = gate <= limit ? (float) (d[i] * (Math.min(Math.max(up, -limit), limit) + 1)
                        * (s + alpha * g * s * (1 - s))) : 0f;
                o[2 * i + 1] = up >= -limit && up <= limit ? (float) (d[i] * g * s) : 0f;
            }
        });
        CpuTensors.commit(dGateUp, o);
    }
}
