package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.autograd.Xielu;
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

    @Override
    public void xielu(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor y) {
        float[] xv = CpuTensors.read(x);
        double ap = Xielu.softplus(CpuTensors.read(alphaP)[0]);
        double an = beta + Xielu.softplus(CpuTensors.read(alphaN)[0]);
        float[] o = CpuTensors.floatOutput(y);
        Parallel.chunks(o.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                o[i] = (float) Xielu.value(xv[i], ap, an, beta, eps);
            }
        });
        CpuTensors.commit(y, o);
    }

    @Override
    public void xieluBackward(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor dy, Tensor dx,
                              Tensor dAlphaP, Tensor dAlphaN) {
        float[] xv = CpuTensors.read(x);
        float[] d = CpuTensors.read(dy);
        double rawP = CpuTensors.read(alphaP)[0];
        double rawN = CpuTensors.read(alphaN)[0];
        double ap = Xielu.softplus(rawP);
        double an = beta + Xielu.softplus(rawN);
        float[] o = CpuTensors.floatOutput(dx);
        Parallel.chunks(o.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                o[i] = (float) (d[i] * Xielu.derivative(xv[i], ap, an, beta, eps));
            }
        });
        CpuTensors.commit(dx, o);
        if (dAlphaP == null && dAlphaN == null) {
            return; // frozen scalars (under an adapter): no serial pass over every element
        }
        // the scalars' sums in double, in element order: one pass, the same on every run
        double sumP = 0;
        double sumN = 0;
        for (int i = 0; i < d.length; i++) {
            double term = d[i] * Xielu.scalarFactor(xv[i], eps);
            if (xv[i] > 0) {
                sumP += term;
            } else {
                sumN += term;
            }
        }
        storeScalar(dAlphaP, sumP * Xielu.softplusDerivative(rawP));
        storeScalar(dAlphaN, sumN * Xielu.softplusDerivative(rawN));
    }

    /** {@code value} into the one-element F32 {@code out}, unless it is null (no gradient wanted). */
    private static void storeScalar(Tensor out, double value) {
        if (out != null) {
            float[] o = CpuTensors.output(out);
            o[0] = (float) value;
            CpuTensors.commit(out, o);
        }
    }
}
