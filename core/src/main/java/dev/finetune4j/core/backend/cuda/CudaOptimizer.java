package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

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

    /** One launch for every parameter: their addresses and offsets in a table kept on the device (DeviceTables). */
    @Override
    public void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step) {
        long[] table = new long[5 * params.size()];
        long total = 0;
        for (int k = 0; k < params.size(); k++) {
            Tensor p = params.get(k);
            Tensor g = grads.get(k);
            requireSameSize(p, g, m.get(k), v.get(k));
            if (g.dtype() != DType.F32 || !g.isContiguous()) {
                throw new IllegalArgumentException("multi-tensor AdamW takes contiguous F32 gradients, got " + g);
            }
            table[5 * k] = rt.output(p);
            table[5 * k + 1] = rt.address(g);
            table[5 * k + 2] = rt.output(m.get(k));
            table[5 * k + 3] = rt.output(v.get(k));
            table[5 * k + 4] = total;
            total += p.numel();
        }
        if (params.isEmpty()) {
            return;
        }
        try (KernelArgs k = new KernelArgs()) {
            k.ptr(rt.tables.of(table)).i32(params.size()).f32(step.decay()).f32(step.gradWeight()).f32(step.beta2())
                    .f32(step.oneMinusBeta2()).f32(step.eps()).f32(step.negStepSize())
                    .f32(step.biasCorrection2Sqrt()).i64(total);
            rt.kernels.launchOver("optimizer", "adamw_multi", total, k);
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
