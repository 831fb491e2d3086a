package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.cpu.MathKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.stream.IntStream;

/** Softmax and log-softmax over the last dimension, computed stably (max subtracted). */
public final class Softmax {
    private Softmax() {
    }

    /** x: (..., V) -> (..., V); backward dx = y * (dy - sum(dy * y)). */
    public static Tensor softmax(Tensor x) {
        int v = x.dim(-1);
        int rows = x.shape().rows();
        float[] y = Buffers.floats(x);
        IntStream.range(0, rows).parallel().forEach(r -> softmaxRow(y, r * v, v));
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record("softmax", out, dOut -> {
            float[] dy = Buffers.read(dOut);
            float[] dx = new float[dy.length];
            IntStream.range(0, rows).parallel().forEach(r -> {
                int o = r * v;
                double dot = 0;
                for (int i = 0; i < v; i++) {
                    dot += dy[o + i] * y[o + i];
                }
                for (int i = 0; i < v; i++) {
                    dx[o + i] = (float) (y[o + i] * (dy[o + i] - dot));
                }
            });
            return new Tensor[]{Buffers.tensor(dx, x.shape())};
        }, x);
    }

    /** x: (..., V) -> (..., V); backward dx = dy - softmax(x) * sum(dy). */
    public static Tensor logSoftmax(Tensor x) {
        int v = x.dim(-1);
        int rows = x.shape().rows();
        float[] y = Buffers.floats(x);
        IntStream.range(0, rows).parallel().forEach(r -> logSoftmaxRow(y, r * v, v));
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record("logSoftmax", out, dOut -> {
            float[] dy = Buffers.floats(dOut);
            float[] dx = new float[dy.length];
            IntStream.range(0, rows).parallel().forEach(r -> {
                int o = r * v;
                double sum = 0;
                for (int i = 0; i < v; i++) {
                    sum += dy[o + i];
                }
                System.arraycopy(y, o, dx, o, v);
                Buffers.math().expInPlace(dx, o, v, 0f); // softmax = exp(log-softmax)
                for (int i = 0; i < v; i++) {
                    dx[o + i] = (float) (dy[o + i] - dx[o + i] * sum);
                }
            });
            return new Tensor[]{Buffers.tensor(dx, x.shape())};
        }, x);
    }

    /** In-place softmax of {@code a[o .. o+n)}. */
    static void softmaxRow(float[] a, int o, int n) {
        float max = Buffers.math().max(a, o, n);
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(a, o, o + n, 0f); // every entry masked: no probability mass, no NaN
            return;
        }
        normalizeInPlace(a, o, n, max);
    }

    /** {@code a[i] = exp(a[i] - max) / sum} over {@code [o, o+n)}, {@code max} being the row's largest; returns the sum. */
    static double normalizeInPlace(float[] a, int o, int n, float max) {
        double sum = Buffers.math().expInPlace(a, o, n, max);
        float inv = (float) (1.0 / sum);
        for (int i = o; i < o + n; i++) {
            a[i] *= inv;
        }
        return sum;
    }

    /** In-place log-softmax of {@code a[o .. o+n)}. */
    static void logSoftmaxRow(float[] a, int o, int n) {
        MathKernels math = Buffers.math();
        float max = math.max(a, o, n);
        // NOTE: (x - max) - log(sum), as PyTorch: folding max into one float32 log-sum-exp first would round
        // it to the ulp of max (6e-5 at logits near 1000) and shift every log-probability by that error.
        double logSum = Math.log(math.sumExp(a, o, n, max));
        for (int i = o; i < o + n; i++) {
            a[i] = (float) (a[i] - max - logSum);
        }
    }
}
