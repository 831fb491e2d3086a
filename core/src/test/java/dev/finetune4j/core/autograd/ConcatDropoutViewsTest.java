package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.backend.Philox;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Concatenation, dropout and the view ops (reshape, transpose, permute, slice, contiguous) with gradients. */
class ConcatDropoutViewsTest {

    /** (a0, a1, a2) row-major permuted so that out dimension i is x dimension order[i]. */
    static double[] permute(double[] x, int[] dims, int[] order) {
        int[] od = {dims[order[0]], dims[order[1]], dims[order[2]]};
        double[] out = new double[x.length];
        int[] idx = new int[3];
        for (idx[0] = 0; idx[0] < dims[0]; idx[0]++) {
            for (idx[1] = 0; idx[1] < dims[1]; idx[1]++) {
                for (idx[2] = 0; idx[2] < dims[2]; idx[2]++) {
                    int o = (idx[order[0]] * od[1] + idx[order[1]]) * od[2] + idx[order[2]];
                    out[o] = x[(idx[0] * dims[1] + idx[1]) * dims[2] + idx[2]];
                }
            }
        }
        return out;
    }

    @Test
    void concatAlongTheMiddleIncludingANonContiguousPart() {
        GradCheck.of("cat dim 1", x -> Concat.cat(1, x[0], x[1].transpose(1, 2), x[2]))
                .input(2, 1, 3).input(2, 3, 2).input(2, 3, 3)
                .reference(x -> {
                    double[] t = permute(x[1], new int[]{2, 3, 2}, new int[]{0, 2, 1});
                    double[] out = new double[2 * 6 * 3];
                    for (int b = 0; b < 2; b++) {
                        System.arraycopy(x[0], b * 3, out, b * 18, 3);
                        System.arraycopy(t, b * 6, out, b * 18 + 3, 6);
                        System.arraycopy(x[2], b * 9, out, b * 18 + 9, 9);
                    }
                    return out;
                }).run();
        try (var s = TensorScope.open()) {
            assertThrows(IllegalArgumentException.class, () -> Concat.cat(0, Tensor.zeros(1, 2), Tensor.zeros(1, 3)));
        }
    }

    @Test
    void dropoutWithAFixedKey() {
        float p = 0.25f;
        DropoutKey key = new DropoutKey(7, 3, 1);
        GradCheck.of("dropout", x -> Dropout.apply(x[0], p, key)).input(4, 8).run();
        try (var s = TensorScope.open()) {
            int n = 20_000;
            Tensor x = Tensor.of(GradCheck.uniform(1, n, 1, 2), n);
            float[] a = Dropout.apply(x, p, key).toFloatArray();
            assertArrayEquals(a, Dropout.apply(x, p, key).toFloatArray(), "same key, same mask");
            int dropped = 0;
            for (int i = 0; i < n; i++) {
                if (a[i] == 0f) {
                    dropped++;
                } else {
                    assertEquals(x.getFlat(i) / (1 - p), a[i], 1e-6f, "survivors scale by 1/(1-p)");
                }
                assertEquals(Philox.uniform(key, i) < p, a[i] == 0f, "element " + i + " follows Philox");
            }
            // Binomial(n, p): 4.5 standard deviations is about 275.
            assertEquals(n * p, dropped, 275, "dropped fraction");
            float[] other = Dropout.apply(x, p, new DropoutKey(7, 3, 2)).toFloatArray();
            int differ = 0;
            for (int i = 0; i < n; i++) {
                differ += (a[i] == 0f) != (other[i] == 0f) ? 1 : 0;
            }
            // two independent masks disagree on 2 p (1 - p) n = 7500 elements
            assertEquals(2 * p * (1 - p) * n, differ, 300, "another site draws another mask");
            assertSame(x, Dropout.apply(x, 0f, key), "p = 0 is the identity");
            assertThrows(IllegalArgumentException.class, () -> Dropout.apply(x, 1f, key));
        }
    }

    /** The backward redraws the forward's mask from the key: the gradient is zero exactly where the output is. */
    @Test
    void dropoutBackwardUsesTheForwardMask() {
        try (var s = TensorScope.open()) {
            int n = 1001; // not a multiple of Philox's four outputs per block
            Tensor x = Tensor.of(GradCheck.uniform(2, n, 1, 2), n).requiresGrad(true);
            Tensor y = Dropout.apply(x, 0.5f, new DropoutKey(11, 0, 0));
            Autograd.backward(Reductions.sum(y));
            float[] out = y.toFloatArray();
            float[] grad = x.grad().toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(out[i] == 0f ? 0f : 2f, grad[i], 0f, "element " + i);
            }
        }
    }

    @Test
    void viewGradients() {
        int[] dims = {2, 3, 4};
        GradCheck.of("permute", x -> x[0].permute(2, 0, 1)).input(dims)
                .reference(x -> permute(x[0], dims, new int[]{2, 0, 1})).run();
        GradCheck.of("transpose", x -> x[0].transpose(-1, 0)).input(dims)
                .reference(x -> permute(x[0], dims, new int[]{2, 1, 0})).run();
        GradCheck.of("reshape of a transposed view", x -> x[0].transpose(0, 1).reshape(6, -1)).input(dims)
                .reference(x -> permute(x[0], dims, new int[]{1, 0, 2})).run();
        GradCheck.of("contiguous", x -> x[0].permute(1, 2, 0).contiguous()).input(dims)
                .reference(x -> permute(x[0], dims, new int[]{1, 2, 0})).run();
        GradCheck.of("slice", x -> x[0].slice(2, 1, 3)).input(dims)
                .reference(x -> {
                    double[] out = new double[12];
                    for (int r = 0; r < 6; r++) {
                        out[r * 2] = x[0][r * 4 + 1];
                        out[r * 2 + 1] = x[0][r * 4 + 2];
                    }
                    return out;
                }).run();
        GradCheck.of("slice of a slice, then an op", x -> Elementwise.mul(x[0].slice(1, 1, 3).slice(0, 1, 2), x[0].slice(1, 0, 2).slice(0, 0, 1)))
                .input(dims).run();
    }
}
