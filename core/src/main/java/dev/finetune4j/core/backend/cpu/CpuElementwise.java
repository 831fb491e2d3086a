package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise arithmetic on the CPU: one loop per operator, so that the JIT vectorizes each. */
final class CpuElementwise implements ElementwiseKernels {

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        float[] x = CpuTensors.read(a);
        float[] y = CpuTensors.read(b);
        float[] o = CpuTensors.output(out);
        Parallel.chunks(o.length, (from, to) -> binary(op, x, y, o, from, to));
        CpuTensors.commit(out, o);
    }

    private static void binary(BinaryOp op, float[] x, float[] y, float[] out, int from, int to) {
        switch (op) {
            case ADD -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] + y[i];
                }
            }
            case SUB -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] - y[i];
                }
            }
            case MUL -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] * y[i];
                }
            }
            case DIV -> {
                for (int i = from; i < to; i++) {
                    out[i] = x[i] / y[i];
                }
            }
        }
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        float[] v = CpuTensors.read(x);
        float[] o = CpuTensors.output(out);
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) switch (op) {
                case EXP -> Math.exp(v[i]);
                case LOG -> Math.log(v[i]);
                case SQRT -> Math.sqrt(v[i]);
                case POSITIVE -> v[i] > 0 ? 1 : 0;
            };
        }
        CpuTensors.commit(out, o);
    }

    @Override
    public void affine(Tensor x, float scale, float shift, Tensor out) {
        float[] v = CpuTensors.read(x);
        float[] o = CpuTensors.output(out);
        if (shift == 0f) {
            for (int i = 0; i < o.length; i++) {
                o[i] = v[i] * scale; // NOTE: not fused with + 0f, which would turn -0 into +0
            }
        } else if (scale == 1f) {
            for (int i = 0; i < o.length; i++) {
                o[i] = v[i] + shift;
            }
        } else {
            for (int i = 0; i < o.length; i++) {
                o[i] = v[i] * scale + shift;
            }
        }
        CpuTensors.commit(out, o);
    }
}
