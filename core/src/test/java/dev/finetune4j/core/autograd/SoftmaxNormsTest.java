package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

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
}
