package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** linear and batched matmul against a float64 triple loop, and their gradients. */
class MatmulTest {

    /** (batch, m, k) x (batch or 1, k, n) in double. */
    static double[] matmul(double[] a, double[] b, int batch, int m, int k, int n, boolean sharedB) {
        double[] c = new double[batch * m * n];
        for (int z = 0; z < batch; z++) {
            int bo = sharedB ? 0 : z * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[(z * m + i) * k + p] * b[bo + p * n + j];
                    }
                    c[(z * m + i) * n + j] = s;
                }
            }
        }
        return c;
    }

    /** x (rows, in) W^T + bias in double; W is (out, in). */
    static double[] linear(double[] x, double[] w, double[] bias, int rows, int in, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    @Test
    void linearWithBias() {
        GradCheck.of("linear + bias", x -> Matmul.linear(x[0], x[1], x[2]))
                .input(2, 3, 5).input(4, 5).input(4)
                .reference(x -> linear(x[0], x[1], x[2], 6, 5, 4))
                .run();
    }

    @Test
    void linearWithoutBias() {
        GradCheck.of("linear", x -> Matmul.linear(x[0], x[1], null))
                .input(7, 3).input(2, 3)
                .reference(x -> linear(x[0], x[1], null, 7, 3, 2))
                .run();
    }

    @Test
    void linearOnATransposedView() {
        GradCheck.of("linear(x^T)", x -> Matmul.linear(x[0].transpose(0, 1), x[1], null))
                .input(3, 4).input(2, 3)
                .reference(x -> {
                    double[] xt = new double[12];
                    for (int i = 0; i < 3; i++) {
                        for (int j = 0; j < 4; j++) {
                            xt[j * 3 + i] = x[0][i * 4 + j];
                        }
                    }
                    return linear(xt, x[1], null, 4, 3, 2);
                })
                .run();
    }

    @Test
    void batchedMatmul() {
        GradCheck.of("matmul batched", x -> Matmul.matmul(x[0], x[1]))
                .input(2, 2, 3, 4).input(2, 2, 4, 5)
                .reference(x -> matmul(x[0], x[1], 4, 3, 4, 5, false))
                .run();
    }

    @Test
    void matmulWithSharedRightOperand() {
        GradCheck.of("matmul shared B", x -> Matmul.matmul(x[0], x[1]))
                .input(3, 2, 4).input(4, 5)
                .reference(x -> matmul(x[0], x[1], 3, 2, 4, 5, true))
                .run();
        GradCheck.of("matmul 2-D", x -> Matmul.matmul(x[0], x[1]))
                .input(3, 4).input(4, 1)
                .reference(x -> matmul(x[0], x[1], 1, 3, 4, 1, true))
                .run();
    }

    /** y + s (x A^T) B^T, LoRA's update, in double. */
    static double[] lowRank(double[] y, double[] x, double[] a, double[] b, double s, int rows, int in, int r, int out) {
        double[] h = linear(x, a, null, rows, in, r);
        double[] delta = linear(h, b, null, rows, r, out);
        double[] result = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            result[i] = y[i] + s * delta[i];
        }
        return result;
    }

    @Test
    void lowRankUpdate() {
        // rows 2 x 3, in 5, r 2, out 4; out > 2 r takes the gemm's swapped path for dB
        GradCheck.of("lowRank", x -> LowRank.add(x[0], x[1], x[2], x[3], 1.5f))
                .input(2, 3, 4).input(2, 3, 5).input(2, 5).input(4, 2)
                .reference(x -> lowRank(x[0], x[1], x[2], x[3], 1.5, 6, 5, 2, 4))
                .run();
    }

    @Test
    void lowRankUpdateOfAWideLayer() {
        GradCheck.of("lowRank wide", x -> LowRank.add(x[0], x[1], x[2], x[3], 2f))
                .input(3, 20).input(3, 6).input(1, 6).input(20, 1)
                .reference(x -> lowRank(x[0], x[1], x[2], x[3], 2, 3, 6, 1, 20))
                .run();
    }

    @Test
    void lowRankLinearIsTheLinearPlusItsUpdate() {
        GradCheck.of("lowRank linear", x -> LowRank.linear(x[0], x[1], x[2], x[3], x[4], 0.5f))
                .input(2, 3, 5).input(4, 5).input(4).input(2, 5).input(4, 2)
                .reference(x -> lowRank(linear(x[0], x[1], x[2], 6, 5, 4), x[0], x[3], x[4], 0.5, 6, 5, 2, 4))
                .run();
    }

    /** DoRA's row norms n in the checks below: constants, no gradient flows into them. */
    private static final float[] NORM = {1.5f, 0.75f, 2f, 1.25f};

    @Test
    void weightDecomposedLinearRescalesTheLowRankLinear() {
        // without dropout: y = (m / n) (x W^T + s (x A^T) B^T) + bias
        GradCheck.of("weight-decomposed linear", x -> LowRank.weightDecomposed(x[0], x[0], x[1], x[2], x[3], x[4], 0.5f,
                        x[5], Tensor.of(NORM, 4)))
                .input(2, 3, 5).input(4, 5).input(4).input(2, 5).input(4, 2).input(4)
                .reference(x -> weightDecomposed(x[0], x[0], x[1], x[2], x[3], x[4], x[5]))
                .run();
    }

    @Test
    void weightDecomposedLinearWithDroppedAdapterInput() {
        // PEFT's DoRA under dropout: y = x W^T + bias + (m / n - 1) (x' W^T) + (m / n) s (x' A^T) B^T
        GradCheck.of("weight-decomposed linear, dropout", x -> LowRank.weightDecomposed(x[0], x[1], x[2], x[3], x[4],
                        x[5], 0.5f, x[6], Tensor.of(NORM, 4)))
                .input(2, 3, 5).input(2, 3, 5).input(4, 5).input(4).input(2, 5).input(4, 2).input(4)
                .reference(x -> weightDecomposed(x[0], x[1], x[2], x[3], x[4], x[5], x[6]))
                .run();
    }

    /** PEFT's DoRA formula in double for 6 rows, in 5, r 2, out 4, s 0.5 and the norms {@link #NORM}. */
    private static double[] weightDecomposed(double[] x, double[] dropped, double[] w, double[] bias, double[] a,
                                             double[] b, double[] magnitude) {
        double[] base = linear(x, w, bias, 6, 5, 4);
        double[] droppedBase = linear(dropped, w, null, 6, 5, 4);
        double[] update = lowRank(new double[24], dropped, a, b, 0.5, 6, 5, 2, 4);
        double[] y = new double[24];
        for (int i = 0; i < y.length; i++) {
            double g = magnitude[i % 4] / NORM[i % 4];
            y[i] = base[i] + (g - 1) * droppedBase[i] + g * update[i];
        }
        return y;
    }

    @Test
    void handComputedProduct() {
        try (var s = TensorScope.open()) {
            Tensor a = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2);
            Tensor b = Tensor.of(new float[]{5, 6, 7, 8}, 2, 2);
            assertArrayEquals(new float[]{19, 22, 43, 50}, Matmul.matmul(a, b).toFloatArray());
            // linear: x W^T + b with W = b above
            assertArrayEquals(new float[]{18, 24, 40, 54}, Matmul.linear(a, b, Tensor.of(new float[]{1, 1}, 2)).toFloatArray());
        }
    }

    @Test
    void mismatchedShapesAreRefused() {
        try (var s = TensorScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(Tensor.zeros(2, 3), Tensor.zeros(4, 2)));
            assertThrows(IllegalArgumentException.class, () -> Matmul.linear(Tensor.zeros(2, 3), Tensor.zeros(4, 2), null));
            assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(Tensor.zeros(2, 2, 3), Tensor.zeros(3, 3, 2)));
            assertThrows(IllegalArgumentException.class,
                    () -> LowRank.add(Tensor.zeros(2, 4), Tensor.zeros(2, 5), Tensor.zeros(2, 5), Tensor.zeros(4, 3), 1f));
            assertThrows(IllegalArgumentException.class, () -> LowRank.linear(Tensor.zeros(2, 5), Tensor.zeros(3, 5), null,
                    Tensor.zeros(2, 5), Tensor.zeros(4, 2), 1f));
            Tensor x = Tensor.zeros(2, 5);
            assertThrows(IllegalArgumentException.class, () -> LowRank.weightDecomposed(x, x, Tensor.zeros(4, 5), null,
                    Tensor.zeros(2, 5), Tensor.zeros(4, 2), 1f, Tensor.zeros(4), Tensor.zeros(3)));
            assertThrows(IllegalArgumentException.class, () -> LowRank.weightDecomposed(x, Tensor.zeros(1, 5),
                    Tensor.zeros(4, 5), null, Tensor.zeros(2, 5), Tensor.zeros(4, 2), 1f, Tensor.zeros(4), Tensor.zeros(4)));
        }
    }

    /**
     * x times expert 1's (8, 6) matrix of a stacked (3, 8, 6) NF4 weight: the product and the gradient of x against
     * float64 with the whole tensor dequantized and sliced here (the values the NF4 codes stand for).
     */
    @Test
    void productWithASliceOfAnNf4Tensor() {
        try (var s = TensorScope.open()) {
            Tensor stacked = Tensor.of(GradCheck.randn(9, 3 * 8 * 6), 3, 8, 6).convertTo(DType.NF4, s);
            float[] all = stacked.convertTo(DType.F32, s).toFloatArray();
            double[] expert = new double[8 * 6];
            for (int i = 0; i < expert.length; i++) {
                expert[i] = all[8 * 6 + i];
            }
            GradCheck.of("x times an NF4 slice", x -> Matmul.matmulNf4Slice(x[0], stacked, 8 * 6, 8, 6))
                    .input(2, 5, 8)
                    .reference(x -> matmul(x[0], expert, 1, 10, 8, 6, true))
                    .run();
            // the same (8, 6) matrix as a linear layer's (out, in) weight: x (..., 6) times its transpose
            GradCheck.of("x times an NF4 slice's transpose", x -> Matmul.matmulNf4Slice(x[0], stacked, 8 * 6, 8, 6, true))
                    .input(2, 5, 6)
                    .reference(x -> linear(x[0], expert, null, 10, 6, 8))
                    .run();
        }
    }
}
