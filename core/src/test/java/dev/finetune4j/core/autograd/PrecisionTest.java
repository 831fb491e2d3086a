package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Where {@link Precision#BF16_MIXED} rounds, on hand-computed cases. bf16 keeps 8 significant bits: in [1, 2) its
 * values are 1/128 apart, so 1 + 3/512 = 1.005859375 rounds up to 1.0078125, and in [2, 4) they are 1/64 apart.
 */
class PrecisionTest {
    /** 1 + 3/512: not a bf16 value; rounds to {@link #W_BF16}. */
    private static final float W = 1.005859375f;
    private static final float W_BF16 = 1.0078125f;
    /** 5/1024, a bf16 value. */
    private static final float SMALL = 0.0048828125f;

    private TensorScope scope;

    @BeforeEach
    void openScope() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    private static float bf16(double v) {
        return DTypeConversions.bf16ToFloat(DTypeConversions.floatToBf16((float) v));
    }

    @Test
    void linearRoundsItsOperandsAndOutputNotTheMasterWeightAndItsGradientsStayFloat32() {
        Tensor w = Tensor.of(new float[]{W, 1f}, 1, 2).requiresGrad(true);
        Tensor x = Tensor.of(new float[]{1f, SMALL}, 1, 2).requiresGrad(true);
        try (var p = Precision.BF16_MIXED.use()) {
            Tensor y = Matmul.linear(x, w, null);
            // x W_bf16^T = 1.0078125 + 0.0048828125 = 1.0126953125, nearer 1.015625 than 1.0078125
            assertArrayEquals(new float[]{1.015625f}, y.toFloatArray());
            Autograd.backward(Reductions.sum(Elementwise.scale(y, 3f)));
        }
        assertArrayEquals(new float[]{W, 1f}, w.toFloatArray(), "the float32 master must not be rounded in place");
        // dW = 3 x, dx = 3 W_bf16: 3 * 1.0078125 = 3.0234375 lies between the bf16 values 3.015625 and 3.03125,
        // so an exact value proves the backward ran in float32
        assertArrayEquals(new float[]{3f, 3 * SMALL}, w.grad().toFloatArray());
        assertArrayEquals(new float[]{3.0234375f, 3f}, x.grad().toFloatArray());
    }

    @Test
    void float32IsTheDefaultAndComputesWithoutRounding() {
        assertEquals(Precision.F32, Precision.current());
        Tensor w = Tensor.of(new float[]{W, 1f}, 1, 2);
        Tensor x = Tensor.of(new float[]{1f, SMALL}, 1, 2);
        assertArrayEquals(new float[]{W + SMALL}, Matmul.linear(x, w, null).toFloatArray());
        try (var outer = Precision.BF16_MIXED.use()) {
            try (var inner = Precision.F32.use()) {
                assertArrayEquals(new float[]{W + SMALL}, Matmul.linear(x, w, null).toFloatArray());
            }
            assertEquals(Precision.BF16_MIXED, Precision.current(), "closing a nested scope restores the outer one");
        }
        assertEquals(Precision.F32, Precision.current());
    }

    @Test
    void lowRankRoundsItsRankRIntermediateAndOutput() {
        Tensor x = Tensor.of(new float[]{1f}, 1, 1);
        Tensor w = Tensor.of(new float[]{0f}, 1, 1);
        Tensor a = Tensor.of(new float[]{W}, 1, 1).requiresGrad(true);
        Tensor b = Tensor.of(new float[]{1f}, 1, 1).requiresGrad(true);
        try (var p = Precision.BF16_MIXED.use()) {
            assertArrayEquals(new float[]{W_BF16}, LowRank.linear(x, w, null, a, b, 1f).toFloatArray());
            // y + s B (A x) with y = 1: 2.0078125 is halfway between 2 and 2.015625 and ties to the even 2
            Tensor y = Tensor.of(new float[]{1f}, 1, 1);
            assertArrayEquals(new float[]{2f}, LowRank.add(y, x, a, b, 1f).toFloatArray());
        }
        assertArrayEquals(new float[]{W}, LowRank.linear(x, w, null, a, b, 1f).toFloatArray(), "F32 is exact");
    }

    @Test
    void weightDecomposedRoundsItsProductAndOutputAndKeepsTheRoundedProduct() {
        Tensor x = Tensor.of(new float[]{1f}, 1, 1);
        Tensor w = Tensor.of(new float[]{0f}, 1, 1);
        Tensor a = Tensor.of(new float[]{W}, 1, 1);
        Tensor b = Tensor.of(new float[]{1f}, 1, 1);
        Tensor n = Tensor.of(new float[]{2f}, 1);
        Tensor m = Tensor.of(new float[]{3f}, 1).requiresGrad(true);
        try (var p = Precision.BF16_MIXED.use()) {
            // z = x W^T + s (x A^T) B^T = 1.0078125 (A rounded); y = (m / n) z = 1.51171875 ties to the even 1.515625
            Tensor y = LowRank.weightDecomposed(x, x, w, null, a, b, 1f, m, n);
            assertArrayEquals(new float[]{1.515625f}, y.toFloatArray());
            Autograd.backward(Reductions.sum(y));
        }
        // dm = (the sum of dOut z) / n, from the rounded z
        assertArrayEquals(new float[]{W_BF16 / 2}, m.grad().toFloatArray());
        assertArrayEquals(new float[]{1.5f * W}, LowRank.weightDecomposed(x, x, w, null, a, b, 1f, m, n).toFloatArray(),
                "F32 is exact");
    }

    @Test
    void normsActivationsEmbeddingsAndAttentionRoundTheirOutputs() {
        try (var p = Precision.BF16_MIXED.use()) {
            // RMSNorm of (3, 4): 1 / sqrt(12.5) = 0.28284271; times the weight W rounded to 1.0078125
            float[] norm = Norms.rmsNorm(Tensor.of(new float[]{3f, 4f}, 1, 2), Tensor.of(new float[]{W, W}, 2), 0f)
                    .toFloatArray();
            double r = 1 / Math.sqrt(12.5);
            assertArrayEquals(new float[]{bf16(3 * r * W_BF16), bf16(4 * r * W_BF16)}, norm);
            float silu = (float) (1 / (1 + Math.exp(-1)));
            assertArrayEquals(new float[]{bf16(silu)},
                    Activations.apply(Activations.Kind.SILU, Tensor.of(new float[]{1f}, 1)).toFloatArray());
            Tensor table = Tensor.of(new float[]{W, 2f}, 1, 2);
            assertArrayEquals(new float[]{W_BF16, 2f}, EmbeddingLookup.lookup(table, new long[][]{{0}}).toFloatArray());
            assertArrayEquals(new float[]{W, 2f}, table.toFloatArray(), "the table is read, not rounded");
            // one query, one key: the output is v, rounded as an operand
            Tensor v = Tensor.of(new float[]{W, 2f}, 1, 1, 1, 2);
            Tensor q = Tensor.of(new float[]{1f, 1f}, 1, 1, 1, 2);
            assertArrayEquals(new float[]{W_BF16, 2f},
                    Attention.scaledDotProduct(q, q, v, AttentionMask.causalOnly(), 1f).toFloatArray());
        }
    }

    @Test
    void elementwiseReductionsAndSoftmaxStayFloat32() {
        Tensor a = Tensor.of(new float[]{1f, 0f}, 2);
        Tensor b = Tensor.of(new float[]{SMALL / 8, 1f}, 2);
        float[] sum;
        float[] softmax;
        float[] total;
        try (var p = Precision.BF16_MIXED.use()) {
            sum = Elementwise.add(a, b).toFloatArray();
            softmax = Softmax.softmax(b).toFloatArray();
            total = Reductions.sum(Elementwise.add(a, b)).toFloatArray();
        }
        assertArrayEquals(new float[]{1f + SMALL / 8, 1f}, sum, "1 + 5/8192 is no bf16 value; the sum keeps it");
        assertArrayEquals(Softmax.softmax(b).toFloatArray(), softmax);
        assertArrayEquals(new float[]{2f + SMALL / 8}, total);
    }
}
