package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.backend.AdamWStep;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.ElementwiseKernels.BinaryOp;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the CPU backend refuses as an output (not contiguous F32, or the wrong size for an optimizer's state), the
 * CUDA backend refuses too, before a kernel writes floats past a narrower tensor's end or across a view's gaps.
 * Runs on {@code fakecuda:0}, no GPU needed.
 */
class CudaOutputChecksTest {

    /** One call with a bad output, on {@code device}. */
    private interface Call {
        void run(KernelFamilies k, Device device, TensorScope s);
    }

    private static Tensor t(Device device, TensorScope s, DType type, int... dims) {
        return Tensor.zeros(s, device, type, Shape.of(dims));
    }

    private static Map<String, Call> calls() {
        Map<String, Call> c = new LinkedHashMap<>();
        c.put("activation into bf16", (k, d, s) -> k.activations().activation(Kind.SILU, t(d, s, DType.F32, 4, 5),
                t(d, s, DType.BF16, 4, 5)));
        c.put("binary into a transposed view", (k, d, s) -> k.elementwise().binary(BinaryOp.ADD,
                t(d, s, DType.F32, 4, 5), t(d, s, DType.F32, 4, 5), t(d, s, DType.F32, 5, 4).transpose(0, 1)));
        c.put("gemm of float32 operands into bf16", (k, d, s) -> k.matmul().gemm(t(d, s, DType.F32, 3, 8), false,
                t(d, s, DType.F32, 8, 2), false, t(d, s, DType.BF16, 3, 2), 1f, false));
        c.put("sumTo into bf16", (k, d, s) -> k.reductions().sumTo(t(d, s, DType.F32, 3, 4),
                t(d, s, DType.BF16, 1, 4)));
        c.put("rms norm into a transposed view", (k, d, s) -> k.norms().rmsNorm(t(d, s, DType.F32, 6, 6),
                t(d, s, DType.F32, 6), 1e-6f, t(d, s, DType.F32, 6, 6).transpose(0, 1), t(d, s, DType.F32, 6)));
        c.put("token log-probs' gradient into f16", (k, d, s) -> k.crossEntropy().tokenLogProbsBackward(
                t(d, s, DType.F32, 2, 10), Tensor.ofInts(d, new int[]{1, 2}, Shape.of(2)), -100,
                t(d, s, DType.F32, 2), t(d, s, DType.F32, 2), t(d, s, DType.F32, 2), t(d, s, DType.F16, 2, 10)));
        c.put("swiglu into a transposed bf16 view", (k, d, s) -> k.activations().swiglu(t(d, s, DType.F32, 4, 6),
                t(d, s, DType.F32, 4, 6), t(d, s, DType.BF16, 6, 4).transpose(0, 1)));
        c.put("adamw with a shorter second moment", (k, d, s) -> k.optimizer().adamw(t(d, s, DType.F32, 10),
                t(d, s, DType.F32, 10), t(d, s, DType.F32, 10), t(d, s, DType.F32, 9),
                new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f)));
        c.put("adamw on a bf16 parameter", (k, d, s) -> k.optimizer().adamw(t(d, s, DType.BF16, 10),
                t(d, s, DType.F32, 10), t(d, s, DType.F32, 10), t(d, s, DType.F32, 10),
                new AdamWStep(0.999f, 0.1f, 0.999f, 0.001f, 1e-8f, -0.01f, 0.2f)));
        return c;
    }

    @Test
    void badOutputsAreRefusedAsOnTheCpu() {
        Device gpu = FakeCudaProvider.device();
        calls().forEach((name, call) -> {
            for (Device device : new Device[]{Device.cpu(), gpu}) {
                try (TensorScope s = TensorScope.open()) {
                    KernelFamilies k = device.backend().kernels();
                    var e = assertThrows(IllegalArgumentException.class, () -> call.run(k, device, s),
                            name + " on " + device);
                    assertTrue(e.getMessage().contains(" tensors"), name + " on " + device + ": " + e.getMessage());
                }
            }
        });
    }
}
