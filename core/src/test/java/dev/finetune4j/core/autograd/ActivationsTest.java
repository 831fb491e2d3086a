package dev.finetune4j.core.autograd;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Pointwise activations, SwiGLU and erf against float64 references. */
class ActivationsTest {

    /** erf by composite Simpson integration of 2/sqrt(pi) e^(-t^2): independent of {@link Erf}'s series. */
    static double erfBySimpson(double x) {
        int n = 4000;
        double h = x / n;
        double s = 0;
        for (int i = 0; i <= n; i++) {
            double w = i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2);
            s += w * Math.exp(-(i * h) * (i * h));
        }
        return 2 / Math.sqrt(Math.PI) * s * h / 3;
    }

    static double reference(Activations.Kind kind, double x) {
        return switch (kind) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_EXACT -> 0.5 * x * (1 + erfBySimpson(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case RELU -> x > 0 ? x : 0;
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case SOFTPLUS -> Math.log(1 + Math.exp(x));
            case RELU2 -> x > 0 ? Math.pow(x, 2) : 0;
        };
    }

    /** PyTorch's softplus returns x itself above 20 (its default threshold) and never overflows. */
    @Test
    void softplusFollowsPyTorchsThreshold() {
        assertEquals(20.5, Activations.Kind.SOFTPLUS.value(20.5));
        assertEquals(1.0, Activations.Kind.SOFTPLUS.derivative(20.5));
        assertEquals(Math.log1p(Math.exp(19.5)), Activations.Kind.SOFTPLUS.value(19.5), 1e-12);
        assertEquals(1000.0, Activations.Kind.SOFTPLUS.value(1000));
        assertEquals(Math.exp(-40), Activations.Kind.SOFTPLUS.value(-40), 1e-25);
    }

    @Test
    void everyKind() {
        // NOTE: inputs stay at least 0.05 away from 0, where ReLU has its kink.
        float[] x = GradCheck.randn(3, 24);
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.abs(x[i]) < 0.05f ? x[i] + Math.copySign(0.1f, x[i]) : x[i] * 1.5f;
        }
        for (Activations.Kind kind : Activations.Kind.values()) {
            GradCheck.of(kind.name(), t -> Activations.apply(kind, t[0])).input(x, 4, 6)
                    .reference(d -> GradCheck.map(d[0], v -> reference(kind, v))).run();
        }
    }

    @Test
    void swiglu() {
        GradCheck.of("swiglu", t -> Activations.swiglu(t[0], t[1])).input(3, 5).input(3, 5)
                .reference(d -> {
                    double[] o = new double[d[0].length];
                    for (int i = 0; i < o.length; i++) {
                        o[i] = reference(Activations.Kind.SILU, d[0][i]) * d[1][i];
                    }
                    return o;
                }).run();
    }

    /**
     * gpt-oss's clamped SwiGLU over interleaved (gate, up) pairs, with a limit of 1 that clamps about a third of the
     * values (gates above it, ups beyond either side; inputs kept 0.05 away from the kinks, where finite differences
     * would straddle them).
     */
    @Test
    void clampedSwigluOfInterleavedPairs() {
        float limit = 1f;
        float alpha = 1.702f;
        float[] x = GradCheck.randn(5, 3 * 8);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 1.5f;
            if (Math.abs(Math.abs(x[i]) - limit) < 0.05f) {
                x[i] += Math.copySign(0.1f, x[i]);
            }
        }
        GradCheck.of("clamped swiglu", t -> Activations.clampedSwiglu(t[0], alpha, limit)).input(x, 3, 8)
                .reference(d -> {
                    double[] o = new double[d[0].length / 2];
                    for (int i = 0; i < o.length; i++) {
                        double g = Math.min(d[0][2 * i], limit);
                        double u = Math.max(-limit, Math.min(d[0][2 * i + 1], limit));
                        o[i] = (u + 1) * g / (1 + Math.exp(-alpha * g));
                    }
                    return o;
                }).run();
    }

    @Test
    void erfMatchesIntegrationOnBothBranches() {
        for (double x : new double[]{-4, -2.6, -1, -0.3, 0, 0.1, 0.9, 2.49, 2.51, 3.3, 5}) {
            assertEquals(erfBySimpson(x), Erf.erf(x), 1e-12, "erf(" + x + ")");
        }
    }

    @Test
    void configNames() {
        assertEquals(Activations.Kind.GELU_TANH, Activations.Kind.fromConfig("gelu_pytorch_tanh"));
        assertEquals(Activations.Kind.SILU, Activations.Kind.fromConfig("swish"));
        assertThrows(IllegalArgumentException.class, () -> Activations.Kind.fromConfig("mish"));
    }

    /** A bottleneck adapter writes its activation by this name and reads it back (gelu_exact was not readable). */
    @Test
    void everyActivationsConfigNameReadsBackAsItself() {
        for (Activations.Kind kind : Activations.Kind.values()) {
            assertEquals(kind, Activations.Kind.fromConfig(kind.configName()), kind.configName());
        }
    }
}
