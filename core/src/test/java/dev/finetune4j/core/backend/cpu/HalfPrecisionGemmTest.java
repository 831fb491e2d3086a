package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Products with a bf16, f16 or NF4 right operand (weights kept in their checkpoint dtype, or quantized) equal the
 * float32 products with the same rounded values, also when the weight is converted in several blocks.
 */
class HalfPrecisionGemmTest {

    @Test
    void halfPrecisionWeightsMultiplyLikeTheirFloat32Values() {
        // 2100 x 2048 floats is past one 4M-float block in both orientations
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.NF4}) {
            check(dtype, 5, 2100, 2048, false, true, false, 1f);
            check(dtype, 5, 2048, 2100, false, false, true, 1f);
            check(dtype, 7, 30, 20, true, false, true, 0.5f);
            check(dtype, 7, 30, 20, true, true, false, 2f);
        }
    }

    private static void check(DType dtype, int m, int n, int k, boolean ta, boolean tb, boolean accumulate, float alpha) {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor a = Tensor.of(params, GradCheck.randn(1, m * k), ta ? k : m, ta ? m : k);
            Tensor b16 = Tensor.of(params, GradCheck.randn(2, n * k), tb ? n : k, tb ? k : n).convertTo(dtype, params);
            Tensor b32 = b16.convertTo(DType.F32, params).requiresGrad(true); // not a cached frozen weight
            float[] c0 = GradCheck.randn(3, m * n);
            Tensor expected = Tensor.of(Device.cpu(), step, c0, Shape.of(m, n));
            Tensor actual = Tensor.of(Device.cpu(), step, c0, Shape.of(m, n));
            var matmul = Device.cpu().backend().matmul();
            matmul.gemm(a, ta, b32, tb, expected, alpha, accumulate);
            matmul.gemm(a, ta, b16, tb, actual, alpha, accumulate);
            float[] e = expected.toFloatArray();
            float[] g = actual.toFloatArray();
            double worst = 0;
            for (int i = 0; i < e.length; i++) {
                worst = Math.max(worst, Math.abs(e[i] - g[i]) / (1 + Math.abs(e[i])));
            }
            assertTrue(worst < 1e-5, dtype + " " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + ": relative error " + worst);
        }
    }
}
