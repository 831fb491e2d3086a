package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.KernelFamilies;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * RMSNorm, SwiGLU (forward and backward), rotary and the cross-entropy's backward write a bf16 output as their
 * float32 output rounded to nearest-even, bit for bit: what BF16_MIXED keeps is what it kept when these kernels wrote float32 and a copy
 * rounded it.
 */
class Bf16ActivationOutputsTest {
    private static final KernelFamilies K = Device.cpu().backend().kernels();

    @Test
    void eachBf16OutputIsTheFloat32OutputRounded() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = random(s, 1, 3, 5, 64);
            Tensor w = random(s, 2, 64);
            Tensor up = random(s, 3, 3, 5, 64);
            Tensor cos = random(s, 4, 3, 5, 32);
            Tensor sin = random(s, 5, 3, 5, 32);
            Tensor rstd = Tensor.zeros(s, DType.F32, Shape.of(15));
            Tensor heads = x.reshape(3, 5, 4, 16).transpose(1, 2);
            same(s, x.shape(), y -> K.norms().rmsNorm(x, w, 1e-6f, y, rstd));
            same(s, x.shape(), y -> K.activations().swiglu(x, up, y));
            Tensor dy = random(s, 6, 3, 5, 64);
            Tensor dUp = Tensor.zeros(s, DType.F32, x.shape());
            Tensor dGate = Tensor.zeros(s, DType.F32, x.shape());
            same(s, x.shape(), dg -> K.activations().swigluBackward(x, up, dy, dg, dUp));
            same(s, x.shape(), du -> K.activations().swigluBackward(x, up, dy, dGate, du));
            Tensor logits = random(s, 7, 6, 50);
            Tensor labels = Tensor.ofInts(Device.cpu(), new int[]{3, -100, 0, 49, 7, 7}, Shape.of(6));
            Tensor max = Tensor.zeros(s, DType.F32, Shape.of(6));
            Tensor inv = Tensor.zeros(s, DType.F32, Shape.of(6));
            K.crossEntropy().tokenLogProbs(logits, labels, -100, Tensor.zeros(s, DType.F32, Shape.of(6)), max, inv);
            Tensor dLogProbs = random(s, 8, 6);
            same(s, logits.shape(), d -> K.crossEntropy().tokenLogProbsBackward(logits, labels, -100, max, inv,
                    dLogProbs, d));
            same(s, Shape.of(3, 4, 5, 16), y -> K.rotary().rotate(heads, cos.slice(2, 0, 8), sin.slice(2, 0, 8),
                    RotaryLayout.HALVES, false, y));
        }
    }

    @Test
    void otherOutputDtypesAndLayoutsAreRefused() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = random(s, 1, 4, 8);
            Tensor f16 = Tensor.zeros(s, DType.F16, Shape.of(4, 8));
            Tensor transposed = Tensor.zeros(s, DType.BF16, Shape.of(8, 4)).transpose(0, 1);
            assertThrows(IllegalArgumentException.class, () -> K.activations().swiglu(x, x, f16));
            assertThrows(IllegalArgumentException.class, () -> K.activations().swiglu(x, x, transposed));
        }
    }

    /** Runs {@code op} into a float32 and a bf16 output of {@code shape} and compares them. */
    private static void same(TensorScope s, Shape shape, Consumer<Tensor> op) {
        Tensor f32 = Tensor.zeros(s, DType.F32, shape);
        Tensor bf16 = Tensor.zeros(s, DType.BF16, shape);
        op.accept(f32);
        op.accept(bf16);
        float[] expected = f32.toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            expected[i] = DTypeConversions.bf16ToFloat(DTypeConversions.floatToBf16(expected[i]));
        }
        assertArrayEquals(expected, bf16.toFloatArray());
    }

    private static Tensor random(TensorScope s, int seed, int... dims) {
        return Tensor.of(s, GradCheck.randn(seed, Math.toIntExact(Shape.of(dims).numel())), dims);
    }
}
