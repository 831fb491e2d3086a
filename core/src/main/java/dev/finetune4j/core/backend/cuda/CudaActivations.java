package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.backend.ActivationKernels;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise activations, SwiGLU and xIELU (activations.cu), computed in double as on the CPU. */
final class CudaActivations implements ActivationKernels {
    /** Most blocks whose partial sums of xIELU's scalar gradients one block then adds up. */
    private static final int XIELU_PARTIALS = 1024;

    private final CudaRuntime rt;

    CudaActivations(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void activation(Kind kind, Tensor x, Tensor y) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.i32(kind.ordinal()).ptr(s.f32(x)).ptr(rt.output(y)).i64(y.numel());
            rt.kernels.launchOver("activations", "activation_forward", y.numel(), k);
        }
    }

    @Override
    public void activationBackward(Kind kind, Tensor x, Tensor dy, Tensor dx) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            k.i32(kind.ordinal()).ptr(s.f32(x)).ptr(s.f32(dy)).ptr(rt.output(dx)).i64(dx.numel());
            rt.kernels.launchOver("activations", "activation_backward", dx.numel(), k);
        }
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor y) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            s.floats(k, gate);
            s.floats(k, up);
            k.ptr(rt.floatOutput(y)).i32(y.dtype().ordinal()).i64(y.numel());
            rt.kernels.launchOver("activations", "swiglu_forward", y.numel(), k);
        }
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            s.floats(k, gate);
            s.floats(k, up);
            k.ptr(s.f32(dy)).ptr(rt.floatOutput(dGate)).i32(dGate.dtype().ordinal())
                    .ptr(rt.floatOutput(dUp)).i32(dUp.dtype().ordinal()).i64(dGate.numel());
            rt.kernels.launchOver("activations", "swiglu_backward", dGate.numel(), k);
        }
    }

    @Override
    public void clampedSwiglu(Tensor gateUp, float alpha, float limit, Tensor y) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            s.floats(k, gateUp);
            k.f32(alpha).f32(limit).ptr(rt.floatOutput(y)).i32(y.dtype().ordinal()).i64(y.numel());
            rt.kernels.launchOver("activations", "clamped_swiglu_forward", y.numel(), k);
        }
    }

    @Override
    public void clampedSwigluBackward(Tensor gateUp, float alpha, float limit, Tensor dy, Tensor dGateUp) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            s.floats(k, gateUp);
            k.f32(alpha).f32(limit).ptr(s.f32(dy)).ptr(rt.floatOutput(dGateUp)).i32(dGateUp.dtype().ordinal())
                    .i64(dy.numel());
            rt.kernels.launchOver("activations", "clamped_swiglu_backward", dy.numel(), k);
        }
    }

    @Override
    public void xielu(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor y) {
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs()) {
            s.floats(k, x);
            s.floats(k, alphaP);
            s.floats(k, alphaN);
            k.f32(beta).f32(eps).ptr(rt.floatOutput(y)).i32(y.dtype().ordinal()).i64(y.numel());
            rt.kernels.launchOver("activations", "xielu_forward", y.numel(), k);
        }
    }

    @Override
    public void xieluBackward(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor dy, Tensor dx,
                              Tensor dAlphaP, Tensor dAlphaN) {
        int blocks = (int) Math.min(XIELU_PARTIALS, CudaKernels.gridFor(dx.numel()));
        try (Scratch s = rt.scratch(); KernelArgs k = new KernelArgs(); KernelArgs f = new KernelArgs()) {
            long partials = s.buffer(2L * blocks * Double.BYTES);
            s.floats(k, x);
            s.floats(k, alphaP);
            s.floats(k, alphaN);
            k.f32(beta).f32(eps).ptr(s.f32(dy)).ptr(rt.floatOutput(dx)).i32(dx.dtype().ordinal()).ptr(partials)
                    .i64(dx.numel());
            rt.kernels.launch("activations", "xielu_backward", blocks, 0, k);
            // the sums stay on the device: one block adds the partials into the scalars' gradients
            f.ptr(partials).i32(blocks);
            s.floats(f, alphaP);
            s.floats(f, alphaN);
            f.ptr(rt.outputOrNull(dAlphaP)).ptr(rt.outputOrNull(dAlphaN));
            rt.kernels.launch("activations", "xielu_scalars_backward", 1, 0, f);
        }
    }
}
