package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Softmax, log-softmax, RMSNorm and LayerNorm over the last dimension against float64 references. */
class SoftmaxNormsTest {

    static double[] softmax(double[] x, int c, boolean log) {
        double[] y = new double[x.length];
        for (int o = 0; o < x.length; o += c) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < c; i++) {
                max = Math.max(max, x[o + i]);
            }
            double sum = 0;
            for (int i = 0; i < c; i++) {
                sum += Math.exp(x[o + i] - max);
            }
            for (int i = 0; i < c; i++) {
                y[o + i] = log ? x[o + i] - max - Math.log(sum) : Math.exp(x[o + i] - max) / sum;
            }
        }
        return y;
    }

    static double[] rmsNorm(double[] x, double[] w, int c, double eps) {
        double[] y = new double[x.length];
        for (int o = 0; o < x.length; o += c) {
            double ss = 0;
            for (int i = 0; i < c; i++) {
                ss += x[o + i] * x[o + i];
            }
            double r = 1 / Math.sqrt(ss / c + eps);
            for (int i = 0; i < c; i++) {
                y[o + i] = x[o + i] * r * w[i];
            }
        }
        return y;
    }

    static double[] layerNorm(double[] x, double[] w, double[] b, int c, double eps) {
        double[] y = new double[x.length];
        for (int o = 0; o < x.length; o += c) {
            double mu = 0;
            for (int i = 0; i < c; i++) {
                mu += x[o + i] / c;
            }
            double var = 0;
            for (int i = 0; i < c; i++) {
                var += (x[o + i] - mu) * (x[o + i] - mu) / c;
            }
            for (int i = 0; i < c; i++) {
                y[o + i] = (x[o + i] - mu) / Math.sqrt(var + eps) * w[i] + b[i];
            }
        }
        return y;
    }

    @Test
    void softmaxAndLogSoftmax() {
        GradCheck.of("softmax", x -> Softmax.softmax(x[0])).input(2, 3, 5).reference(x -> softmax(x[0], 5, false)).run();
        GradCheck.of("logSoftmax", x -> Softmax.logSoftmax(x[0])).input(4, 6).reference(x -> softmax(x[0], 6, true)).run();
    }

    @Test
    void softmaxIsStableAndHandlesMaskedRows() {
        try (var s = TensorScope.open()) {
            float inf = Float.NEGATIVE_INFINITY;
            Tensor x = Tensor.of(new float[]{1000, 1000, inf, inf, inf, inf}, 2, 3);
            assertArrayEquals(new float[]{0.5f, 0.5f, 0, 0, 0, 0}, Softmax.softmax(x).toFloatArray());
            float[] ls = Softmax.logSoftmax(Tensor.of(new float[]{1000, 1000}, 1, 2)).toFloatArray();
            assertArrayEquals(new float[]{(float) -Math.log(2), (float) -Math.log(2)}, ls, 1e-6f);
        }
    }

    @Test
    void rmsNormInputAndWeightGradients() {
        GradCheck.of("rmsNorm", x -> Norms.rmsNorm(x[0], x[1], 1e-5f))
                .input(2, 3, 8).input(GradCheck.uniform(9, 8, 0.5, 1.5), 8)
                .reference(x -> rmsNorm(x[0], x[1], 8, 1e-5))
                .run();
    }

    @Test
    void layerNormInputWeightAndBiasGradients() {
        GradCheck.of("layerNorm", x -> Norms.layerNorm(x[0], x[1], x[2], 1e-5f))
                .input(3, 7).input(GradCheck.uniform(9, 7, 0.5, 1.5), 7).input(7)
                .reference(x -> layerNorm(x[0], x[1], x[2], 7, 1e-5))
                .run();
    }

    @Test
    void frozenNormParametersGetNoGradientAndLeaveTheInputGradientAlone() {
        float[] x = GradCheck.randn(5, 4 * 6);
        float[] w = GradCheck.uniform(6, 6, 0.5, 1.5);
        float[] b = GradCheck.randn(7, 6);
        for (String norm : new String[]{"rmsNorm", "layerNorm"}) {
            float[] trainedDx = null;
            for (boolean trainable : new boolean[]{true, false}) {
                try (var s = TensorScope.open()) {
                    Tensor xt = Tensor.of(x, 4, 6).requiresGrad(true);
                    Tensor wt = Tensor.of(w, 6).requiresGrad(trainable);
                    Tensor bt = Tensor.of(b, 6).requiresGrad(trainable);
                    Tensor y = norm.equals("rmsNorm") ? Norms.rmsNorm(xt, wt, 1e-5f) : Norms.layerNorm(xt, wt, bt, 1e-5f);
                    Autograd.backward(Reductions.sum(Elementwise.mul(y, y)));
                    float[] dx = xt.grad().toFloatArray();
                    if (trainable) {
                        trainedDx = dx;
                    } else {
                        assertArrayEquals(trainedDx, dx, norm + ": dx with frozen parameters");
                        assertNull(wt.grad(), norm + ": a frozen weight gets no gradient");
                        assertNull(bt.grad(), norm + ": a frozen bias gets no gradient");
                    }
                }
            }
        }
    }

    @Test
    void aNormParameterOfTheWrongSizeIsRejected() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.zeros(2, 8);
            var e = assertThrows(IllegalArgumentException.class, () -> Norms.rmsNorm(x, Tensor.zeros(9), 1e-5f));
            assertTrue(e.getMessage().contains("weight [9]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Norms.layerNorm(x, Tensor.zeros(8), Tensor.zeros(4), 1e-5f));
        }
    }

    @Test
    void softmaxOfATransposedViewFollowsItsLogicalRows() {
        try (var s = TensorScope.open()) {
            Tensor x = Tensor.of(GradCheck.randn(8, 12), 4, 3).transpose(0, 1);
            float[] rows = x.toFloatArray();
            double[] expected = softmax(toDoubles(rows), 4, false);
            double[] expectedLog = softmax(toDoubles(rows), 4, true);
            float[] y = Softmax.softmax(x).toFloatArray();
            float[] ly = Softmax.logSoftmax(x).toFloatArray();
            for (int i = 0; i < rows.length; i++) {
                assertEquals(expected[i], y[i], 1e-6, "softmax at " + i);
                assertEquals(expectedLog[i], ly[i], 1e-6, "logSoftmax at " + i);
            }
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
