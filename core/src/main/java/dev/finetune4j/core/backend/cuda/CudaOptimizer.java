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
            k.ptr(rt.address(param)).ptr(s.f32(grad)).ptr(rt.address(m)).ptr(rt.address(v)).f32(step.decay())
                    .f32(step.gradWeight()).f32(step.beta2()).f32(step.oneMinusBeta2()).f32(step.eps())
                    .f32(step.negStepSize()).f32(step.biasCorrection2Sqrt()).i64(param.numel());
            rt.kernels.launchOver("optimizer", "adamw", param.numel(), k);
        }
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(rt.address(param)).ptr(s.f32(grad)).ptr(rt.addressOrNull(momentumBuffer)).f32(step.negLr())
                    .f32(step.weightDecay()).f32(step.momentum()).f32(step.keep()).i32(step.nesterov() ? 1 : 0)
                    .i32(step.first() ? 1 : 0).i64(param.numel());
            rt.kernels.launchOver("optimizer", "sgd", param.numel(), k);
        }
    }
}
