package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention kernels' output as a view (the op's token-major bf16 output under BF16_MIXED): the CPU writes into
 * it the contiguous float32 output's values, each rounded once to bf16, and refuses a view whose rows of D values
 * are not contiguous, as the CUDA backend does.
 */
class AttentionOutputViewsTest {
    private static final int B = 2, H = 4, HKV = 2, T = 5, D = 8;
    private final AttentionKernels kernels = Device.cpu().backend().attention();

    @Test
    void aTokenMajorBf16ViewGetsTheFloat32OutputRoundedOnce() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.of(GradCheck.randn(1, B * H * T * D), B, H, T, D);
            Tensor k = Tensor.of(GradCheck.randn(2, B * HKV * T * D), B, HKV, T, D);
            Tensor v = Tensor.of(GradCheck.randn(3, B * HKV * T * D), B, HKV, T, D);
            Tensor f32 = Tensor.zeros(scope, Device.cpu(), DType.F32, q.shape());
            kernels.attention(q, k, v, AttentionMask.causalOnly(), 0.3f, 0f, f32, Tensor.zeros(scope, Device.cpu(),
                    DType.F32, Shape.of(B, H, T)));
            Tensor tokenMajor = Tensor.zeros(scope, Device.cpu(), DType.BF16, Shape.of(B, T, H, D));
            kernels.attention(q, k, v, AttentionMask.causalOnly(), 0.3f, 0f, tokenMajor.permute(0, 2, 1, 3),
                    Tensor.zeros(scope, Device.cpu(), DType.F32, Shape.of(B, H, T)));
            float[] expected = f32.to(DType.BF16).toFloatArray();
            assertArrayEquals(expected, tokenMajor.permute(0, 2, 1, 3).toFloatArray());
        }
    }

    @Test
    void aViewWhoseRowsAreNotContiguousIsRefused() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.of(GradCheck.randn(1, B * H * T * D), B, H, T, D);
            Tensor k = Tensor.of(GradCheck.randn(2, B * HKV * T * D), B, HKV, T, D);
            Tensor dMajor = Tensor.zeros(scope, Device.cpu(), DType.F32, Shape.of(D, B, H, T)).permute(1, 2, 3, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernels.attention(q, k, k,
                    AttentionMask.causalOnly(), 0.3f, 0f, dMajor, Tensor.zeros(scope, Device.cpu(), DType.F32,
                            Shape.of(B, H, T))));
            assertTrue(e.getMessage().contains("rows of D contiguous") && e.getMessage().contains("strides"),
                    e.getMessage());
        }
    }
}
