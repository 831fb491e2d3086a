package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.Tensor;

/** AdamW and SGD steps in place on the device (optimizer.cu). */
final class CudaOptimizer implements OptimizerKernels {
    private final CudaRuntime rt;

    CudaOptimizer(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            requireSameSize(param, grad, m, v);
            k.ptr(rt.output(param)).ptr(s.f32(grad)).ptr(rt.output(m)).ptr(rt.output(v)).f32(step.decay())
                    .f32(step.gradWeight()).f32(step.beta2()).f32(step.oneMinusBeta2()).f32(step.eps())
                    .f32(step.negStepSize()).f32(step.biasCorrection2Sqrt()).i64(param.numel());
            rt.kernels.launchOver("optimizer", "adamw", param.numel(), k);
        }
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            requireSameSize(param, grad, momentumBuffer);
            k.ptr(rt.output(param)).ptr(s.f32(grad)).ptr(rt.outputOrNull(momentumBuffer)).f32(step.negLr())
                    .f32(step.weightDecay()).f32(step.momentum()).f32(step.keep()).i32(step.nesterov() ? 1 : 0)
                    .i32(step.first() ? 1 : 0).i64(param.numel());
            rt.kernels.launchOver("optimizer", "sgd", param.numel(), k);
        }
    }

    /** The kernels walk {@code param.numel()} elements of every operand (null ones are absent). */
    private static void requireSameSize(Tensor param, Tensor... others) {
        for (Tensor t : others) {
            if (t != null && t.numel() != param.numel()) {
                throw new IllegalArgumentException("optimizer kernels take tensors of the parameter's "
                        + param.numel() + " elements, got " + t);
            }
        }
    }
}
