package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** AdamW and SGD steps in place on the device, and the gate that decides them there (optimizer.cu). */
final class CudaOptimizer implements OptimizerKernels {
    private final CudaRuntime rt;

    CudaOptimizer(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void updateGate(Tensor norms, Tensor losses, float maxNorm, Tensor gate) {
        OptimizerKernels.requireGate(gate);
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.ptr(s.f32(norms)).i32(Math.toIntExact(norms.numel())).ptr(s.f32(losses))
                    .i32(Math.toIntExact(losses.numel())).f32(maxNorm).ptr(rt.output(gate));
            rt.kernels.launch("optimizer", "update_gate", 1, 0, k);
        }
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gate) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            requireSameSize(param, grad, m, v);
            k.ptr(rt.output(param)).ptr(s.f32(grad)).ptr(rt.output(m)).ptr(rt.output(v)).ptr(gateAddress(gate))
                    .f32(step.decay())
                    .f32(step.gradWeight()).f32(step.beta2()).f32(step.oneMinusBeta2()).f32(step.eps())
                    .f32(step.negStepSize()).f32(step.biasCorrection2Sqrt()).i64(param.numel());
            rt.kernels.launchOver("optimizer", "adamw", param.numel(), k);
        }
    }

    /** One launch for every parameter: their addresses and offsets in a table kept on the device (DeviceTables). */
    @Override
    public void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step,
                      Tensor gate) {
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
            k.ptr(rt.tables.of(table)).i32(params.size()).ptr(gateAddress(gate)).f32(step.decay())
                    .f32(step.gradWeight()).f32(step.beta2()).f32(step.oneMinusBeta2()).f32(step.eps())
                    .f32(step.negStepSize()).f32(step.biasCorrection2Sqrt()).i64(total);
            rt.kernels.launchOver("optimizer", "adamw_multi", total, k);
        }
    }

    @Override
    public void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step, Tensor gate) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            requireSameSize(param, grad, momentumBuffer);
            k.ptr(rt.output(param)).ptr(s.f32(grad)).ptr(rt.outputOrNull(momentumBuffer)).ptr(gateAddress(gate))
                    .f32(step.negLr())
                    .f32(step.weightDecay()).f32(step.momentum()).f32(step.keep()).i32(step.nesterov() ? 1 : 0)
                    .i32(step.first() ? 1 : 0).i64(param.numel());
            rt.kernels.launchOver("optimizer", "sgd", param.numel(), k);
        }
    }

    /** The device address of a gate the kernels read, or 0 (null) for none. */
    private long gateAddress(Tensor gate) {
        if (gate == null) {
            return 0;
        }
        OptimizerKernels.requireGate(gate);
        return rt.address(gate);
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
