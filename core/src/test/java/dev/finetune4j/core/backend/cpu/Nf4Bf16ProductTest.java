package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Beside a bf16 operand an NF4 weight multiplies as its values rounded to bf16 (QLoRA under BF16_MIXED, as
 * bitsandbytes computes in its bf16 compute dtype), in both layouts, and beside a float32 operand as its float32
 * values; the reference is the product with the weight converted by hand.
 */
class Nf4Bf16ProductTest {

    @Test
    void anNf4WeightBesideBf16ValuesMultipliesAsBf16() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(GradCheck.randn(1, 7 * 96), 7, 96).to(DType.BF16);
            Tensor w = Tensor.of(GradCheck.randn(2, 96 * 96), 96, 96);
            Tensor nf4 = w.to(DType.NF4);
            Tensor asF32 = nf4.to(DType.F32);
            Tensor asBf16 = nf4.to(DType.BF16);
            for (boolean transposeB : new boolean[]{false, true}) {
                float[] product = product(x, nf4, transposeB);
                assertArrayEquals(product(x, asBf16, transposeB), product, "rounded to bf16, transposeB " + transposeB);
                assertNotEquals(java.util.Arrays.toString(product(x, asF32, transposeB)), java.util.Arrays.toString(product),
                        "the float32 values would give other numbers");
            }
            Tensor x32 = x.to(DType.F32);
            assertArrayEquals(product(x32, asF32, true), product(x32, nf4, true), "beside float32: float32 values");
        }
    }

    private static float[] product(Tensor a, Tensor b, boolean transposeB) {
        Tensor c = Tensor.zeros(Shape.of(a.dim(0), 96));
        CpuBackend.instance().matmul().gemm(a, false, b, transposeB, c, 1f, false);
        return c.toFloatArray();
    }
}
