package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A product into a bf16 output is the float32 result (the product, plus the output's bf16 value when accumulating)
 * rounded to bf16 once, as cuBLAS computes a bf16 C: checked against a double-precision product of the operands'
 * bf16 values, rounded.
 */
class Bf16OutputProductTest {
    private static final MatmulKernels MATMUL = Device.cpu().backend().matmul();

    @Test
    void eachElementIsItsFloat32ValueRoundedOnce() {
        for (boolean accumulate : new boolean[]{false, true}) {
            check(DType.BF16, 9, 13, 70, false, true, accumulate, 1f);
            check(DType.BF16, 9, 13, 70, true, false, accumulate, 0.5f);
            check(DType.NF4, 9, 64, 64, false, true, accumulate, 2f); // x W^T with a QLoRA weight
        }
    }

    @Test
    void aBf16OutputNeedsBf16Operands() {
        try (var step = TensorScope.open()) {
            Tensor a = Tensor.zeros(step, DType.F32, Shape.of(2, 3));
            Tensor b = Tensor.zeros(step, DType.BF16, Shape.of(3, 4));
            Tensor c = Tensor.zeros(step, DType.BF16, Shape.of(2, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MATMUL.gemm(a, false, b, false, c, 1f, false));
            assertTrue(e.getMessage().contains("bf16 output tensors only from bf16 operands"), e.getMessage());
        }
    }

    /** c (+)= alpha op(a) op(b) into bf16, for a bf16 {@code a} and a {@code bType} b (m x k by k x n). */
    private static void check(DType bType, int m, int n, int k, boolean ta, boolean tb, boolean accumulate,
                              float alpha) {
        try (var step = TensorScope.open()) {
            Tensor a = Tensor.of(step, GradCheck.randn(1, m * k), ta ? k : m, ta ? m : k).convertTo(DType.BF16, step);
            Tensor b = Tensor.of(step, GradCheck.randn(2, k * n), tb ? n : k, tb ? k : n).convertTo(bType, step);
            Tensor c = Tensor.of(step, GradCheck.randn(3, m * n), m, n).convertTo(DType.BF16, step);
            float[] av = a.toFloatArray();
            float[] bv = b.convertTo(DType.BF16, step).toFloatArray(); // an NF4 weight multiplies as its bf16 values
            float[] c0 = c.toFloatArray();
            MATMUL.gemm(a, ta, b, tb, c, alpha, accumulate);
            float[] actual = c.toFloatArray();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int l = 0; l < k; l++) {
                        sum += (double) av[ta ? l * m + i : i * k + l] * bv[tb ? j * k + l : l * n + j];
                    }
                    float exact = (float) (alpha * sum + (accumulate ? c0[i * n + j] : 0));
                    float expected = DTypeConversions.bf16ToFloat(DTypeConversions.floatToBf16(exact));
                    // float32 accumulation may land beside the exact value, and so round to the neighbouring bf16
                    // (one bf16 step is 2^16 float32 ones)
                    assertEquals(expected, actual[i * n + j], Math.ulp(expected) * 65537 + 1e-6f,
                            bType + " [" + i + "][" + j + "] accumulate=" + accumulate);
                }
            }
        }
    }
}
