package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.cpu.MathKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Arrays;

/** Softmax and log-softmax over the last dimension, computed stably (max subtracted). */
public final class Softmax {
    private Softmax() {
    }

    /** x: (..., V) -> (..., V); backward dx = y * (dy - sum(dy * y)). */
    public static Tensor softmax(Tensor x) {
        Tensor y = Tensor.zeros(x.device(), x.shape());
        x.backend().softmax().softmax(x.detach().contiguous(), y);
        return Autograd.record("softmax", y, dOut -> {
            Tensor dx = Tensor.zeros(x.device(), x.shape());
            x.backend().softmax().softmaxBackward(y, dOut, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /** x: (..., V) -> (..., V); backward dx = dy - softmax(x) * sum(dy). */
    public static Tensor logSoftmax(Tensor x) {
        Tensor y = Tensor.zeros(x.device(), x.shape());
        x.backend().softmax().logSoftmax(x.detach().contiguous(), y);
        return Autograd.record("logSoftmax", y, dOut -> {
            Tensor dx = Tensor.zeros(x.device(), x.shape());
            x.backend().softmax().logSoftmaxBackward(y, dOut, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /**
     * TODO(port): in-place softmax of {@code a[o .. o+n)} for Attention's loop, which still works on arrays; it
     * goes when attention runs through AttentionKernels, whose CPU side calls CpuSoftmax.softmaxRow instead.
     */
    static void softmaxRow(float[] a, int o, int n) {
        MathKernels math = Buffers.math();
        float max = math.max(a, o, n);
        if (max == Float.NEGATIVE_INFINITY) {
            Arrays.fill(a, o, o + n, 0f); // every entry masked: no probability mass, no NaN
            return;
        }
        float inv = (float) (1.0 / math.expInPlace(a, o, n, max));
        for (int i = o; i < o + n; i++) {
            a[i] *= inv;
        }
    }
}
