package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Softmax and log-softmax on the CPU, one parallel task per row of V values, exponentials through
 * {@link MathKernels} and row sums in double. The row helpers are shared with attention's scores.
 */
final class CpuSoftmax implements SoftmaxKernels {
    private final MathKernels math;

    CpuSoftmax(MathKernels math) {
        this.math = math;
    }

    @Override
    public void softmax(Tensor x, Tensor y) {
        int v = x.dim(-1);
        float[] out = CpuTensors.output(y);
        System.arraycopy(CpuTensors.read(x), 0, out, 0, out.length);
        IntStream.range(0, rows(out, v)).parallel().forEach(r -> softmaxRow(math, out, r * v, v));
        CpuTensors.commit(y, out);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        int v = y.dim(-1);
        float[] yv = CpuTensors.read(y);
        float[] dyv = CpuTensors.read(dy);
        float[] out = CpuTensors.output(dx);
        IntStream.range(0, rows(out, v)).parallel().forEach(r -> {
            int o = r * v;
            double dot = 0;
            for (int i = 0; i < v; i++) {
                dot += dyv[o + i] * yv[o + i];
            }
            for (int i = 0; i < v; i++) {
                out[o + i] = (float) (yv[o + i] * (dyv[o + i] - dot));
            }
        });
        CpuTensors.commit(dx, out);
    }

    @Override
    public void logSoftmax(Tensor x, Tensor y) {
        int v = x.dim(-1);
        float[] out = CpuTensors.output(y);
        System.arraycopy(CpuTensors.read(x), 0, out, 0, out.length);
        IntStream.range(0, rows(out, v)).parallel().forEach(r -> logSoftmaxRow(out, r * v, v));
        CpuTensors.commit(y, out);
    }

    @Override
    public void logSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        int v = y.dim(-1);
        float[] yv = CpuTensors.read(y);
        float[] dyv = CpuTensors.read(dy);
        float[] out = CpuTensors.output(dx);
        IntStream.range(0, rows(out, v)).parallel().forEach(r -> {
            int o = r * v;
            double sum = 0;
            for (int i = 0; i < v; i++) {
                sum += dyv[o + i];
            }
            System.arraycopy(yv, o, out, o, v);
            math.expInPlace(out, o, v, 0f); // softmax = exp(log-softmax)
            for (int i = 0; i < v; i++) {
                out[o + i] = (float) (dyv[o + i] - out[o + i] * sum);
            }
        });
        CpuTensors.commit(dx, out);
    }

    /** In-place softmax of {@code a[o .. o+n)}; a row that is all -infinity becomes zeros. */
    static void softmaxRow(MathKernels math, float[] a, int o, int n) {
        float max = math.max(a, o, n);
        if (max == Float.NEGATIVE_INFINITY) {
            Arrays.fill(a, o, o + n, 0f); // every entry masked: no probability mass, no NaN
            return;
        }
        normalizeInPlace(math, a, o, n, max);
    }

    /** {@code a[i] = exp(a[i] - max) / sum} over {@code [o, o+n)}, {@code max} being the row's largest; returns the sum. */
    static double normalizeInPlace(MathKernels math, float[] a, int o, int n, float max) {
        double sum = math.expInPlace(a, o, n, max);
        float inv = (float) (1.0 / sum);
        for (int i = o; i < o + n; i++) {
            a[i] *= inv;
        }
        return sum;
    }

    /** In-place log-softmax of {@code a[o .. o+n)}. */
    private void logSoftmaxRow(float[] a, int o, int n) {
        float max = math.max(a, o, n);
        // NOTE: (x - max) - log(sum), as PyTorch: folding max into one float32 log-sum-exp first would round
        // it to the ulp of max (6e-5 at logits near 1000) and shift every log-probability by that error.
        double logSum = Math.log(math.sumExp(a, o, n, max));
        for (int i = o; i < o + n; i++) {
            a[i] = (float) (a[i] - max - logSum);
        }
    }

    /** Rows of {@code v} values in {@code values} (none when {@code v} is 0). */
    private static int rows(float[] values, int v) {
        return v == 0 ? 0 : values.length / v;
    }
}
