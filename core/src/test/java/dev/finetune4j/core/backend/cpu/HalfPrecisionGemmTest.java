package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Products with a bf16, f16 or NF4 right operand (weights kept in their checkpoint dtype, or quantized) equal the
 * float32 products with the same rounded values. bf16 and f16 weights are packed from their storage, so their products
 * equal the float32 path's bit for bit, for a weight of several 4M-float blocks too; NF4 weights beyond the cache are
 * dequantized a block at a time (sums in another order: within float32 rounding).
 */
class HalfPrecisionGemmTest {

    @Test
    void halfPrecisionWeightsMultiplyLikeTheirFloat32Values() {
        // 2100 x 2048 floats is past one 4M-float block in both orientations
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.NF4}) {
            check(dtype, 5, 2100, 2048, false, true, false, 1f, 0);
            check(dtype, 5, 2048, 2100, false, false, true, 1f, 0);
            check(dtype, 40, 2048, 2100, false, false, false, 1f, 0);
            check(dtype, 7, 30, 20, true, false, true, 0.5f, 0);
            check(dtype, 7, 30, 20, true, true, false, 2f, 0);
        }
        for (DType dtype : new DType[]{DType.BF16, DType.F16}) {
            check(dtype, 13, 31, 17, false, true, true, 1f, 3); // rows 3.. of a larger weight: a view with an offset
            check(dtype, 13, 31, 17, true, false, false, 1f, 5);
            check(dtype, 70, 9, 130, true, false, true, 1f, 0); // A^T B turned around by the kernel
        }
    }

    @Test
    void aBatchedLeftOperandMeetsOneHalfPrecisionWeight() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor b16 = Tensor.of(params, GradCheck.randn(2, 11 * 19), 11, 19).convertTo(DType.BF16, params);
            Tensor b32 = b16.convertTo(DType.F32, params);
            Tensor a = Tensor.of(GradCheck.randn(1, 3 * 5 * 19), 3, 5, 19);
            var matmul = Device.cpu().backend().matmul();
            Tensor actual = Tensor.zeros(3, 5, 11);
            matmul.gemm(a, false, b16, true, actual, 1f, false);
            for (int i = 0; i < 3; i++) {
                Tensor expected = Tensor.zeros(1, 5, 11);
                matmul.gemm(a.slice(0, i, i + 1), false, b32.reshape(1, 11, 19), true, expected, 1f, false);
                assertArrayEquals(expected.toFloatArray(), actual.slice(0, i, i + 1).toFloatArray(), "batch " + i);
            }
        }
    }

    /**
     * c (+)= alpha op(a) op(b) for b in {@code dtype} (rows {@code skip..} of a larger weight) against the float32
     * path on its converted values: b as a one-matrix batch, which the kernels read as a float32 array.
     */
    private static void check(DType dtype, int m, int n, int k, boolean ta, boolean tb, boolean accumulate, float alpha,
                              int skip) {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            int rows = tb ? n : k;
            int cols = tb ? k : n;
            Tensor a = Tensor.of(params, GradCheck.randn(1, m * k), ta ? k : m, ta ? m : k);
            Tensor b16 = Tensor.of(params, GradCheck.randn(2, (rows + skip) * cols), rows + skip, cols)
                    .convertTo(dtype, params).slice(0, skip, skip + rows);
            Tensor b32 = b16.convertTo(DType.F32, params);
            float[] c0 = GradCheck.randn(3, m * n);
            Tensor expected = Tensor.of(Device.cpu(), step, c0, Shape.of(1, m, n));
            Tensor actual = Tensor.of(Device.cpu(), step, c0, Shape.of(m, n));
            var matmul = Device.cpu().backend().matmul();
            matmul.gemm(a.reshape(1, a.dim(0), a.dim(1)), ta, b32.reshape(1, rows, cols), tb, expected, alpha, accumulate);
            matmul.gemm(a, ta, b16, tb, actual, alpha, accumulate);
            float[] e = expected.toFloatArray();
            float[] g = actual.toFloatArray();
            String what = dtype + " " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " accumulate=" + accumulate;
            if (dtype != DType.NF4) {
                assertArrayEquals(e, g, what);
                return;
            }
            double worst = 0;
            for (int i = 0; i < e.length; i++) {
                worst = Math.max(worst, Math.abs(e[i] - g[i]) / (1 + Math.abs(e[i])));
            }
            assertTrue(worst < 1e-5, what + ": relative error " + worst);
        }
    }
}
