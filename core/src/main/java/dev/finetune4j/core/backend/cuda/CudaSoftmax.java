package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.SoftmaxKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Softmax and log-softmax over the last dimension (softmax.cu), one block per row. */
final class CudaSoftmax implements SoftmaxKernels {
    private final CudaRuntime rt;

    CudaSoftmax(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void softmax(Tensor x, Tensor y) {
        forward(x, y, false);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        backward(y, dy, dx, false);
    }

    @Override
    public void logSoftmax(Tensor x, Tensor y) {
        forward(x, y, true);
    }

    @Override
    public void logSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        backward(y, dy, dx, true);
    }

    private void forward(Tensor x, Tensor y, boolean log) {
        long v = x.dim(x.rank() - 1);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(x)).ptr(rt.output(y)).i64(v).i32(log ? 1 : 0);
            rt.kernels.launch("softmax", "softmax_forward", rows(x, v), 0, k);
        }
    }

    private void backward(Tensor y, Tensor dy, Tensor dx, boolean log) {
        long v = y.dim(y.rank() - 1);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(y)).ptr(s.f32(dy)).ptr(rt.output(dx)).i64(v).i32(log ? 1 : 0);
            rt.kernels.launch("softmax", "softmax_backward", rows(y, v), 0, k);
        }
    }

    private static long rows(Tensor t, long v) {
        return v == 0 ? 0 : t.numel() / v;
    }
}
