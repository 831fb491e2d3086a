package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.cpu.Parallel;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise activations with their derivatives, and SwiGLU's fused silu(gate) * up. */
public final class Activations {
    private Activations() {
    }

    /** The activation functions named by Hugging Face configs ({@code hidden_act}). */
    public enum Kind {
        SILU, GELU_EXACT, GELU_TANH, RELU, TANH, SIGMOID;

        /**
         * Maps a config's {@code hidden_act} / {@code activation_function} string.
         *
         * @throws IllegalArgumentException listing the supported names
         */
        public static Kind fromConfig(String name) {
            return switch (name) {
                case "silu", "swish" -> SILU;
                case "gelu" -> GELU_EXACT;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "relu" -> RELU;
                case "tanh" -> TANH;
                case "sigmoid" -> SIGMOID;
                default -> throw new IllegalArgumentException("unsupported activation '" + name
                        + "'; supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, sigmoid");
            };
        }
    }

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    /** f(x) elementwise; backward multiplies by f'(x). */
    public static Tensor apply(Kind kind, Tensor x) {
        float[] xv = Buffers.read(x);
        float[] y = new float[xv.length];
        Parallel.chunks(y.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                y[i] = (float) value(kind, xv[i]);
            }
        });
        Tensor out = Buffers.tensor(y, x.shape());
        return Autograd.record(kind.name().toLowerCase(), out, dOut -> {
            float[] g = Buffers.floats(dOut);
            Parallel.chunks(g.length, (from, to) -> {
                for (int i = from; i < to; i++) {
                    g[i] *= (float) derivative(kind, xv[i]);
                }
            });
            return new Tensor[]{Buffers.tensor(g, x.shape())};
        }, x);
    }

    /** silu(gate) * up (SwiGLU, Shazeer 2020). gate, up: same shape. */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        float[] gv = Buffers.read(gate);
        float[] uv = Buffers.read(up);
        float[] y = new float[gv.length];
        float[] sig = new float[gv.length]; // sigmoid(gate), kept so that the backward needs no exponentials
        Parallel.chunks(y.length, (from, to) -> {
            Buffers.math().sigmoid(gv, sig, from, to);
            for (int i = from; i < to; i++) {
                y[i] = gv[i] * sig[i] * uv[i];
            }
        });
        Tensor out = Buffers.tensor(y, gate.shape());
        return Autograd.record("swiglu", out, dOut -> {
            float[] d = Buffers.read(dOut);
            float[] dg = new float[d.length];
            float[] du = new float[d.length];
            Parallel.chunks(d.length, (from, to) -> {
                for (int i = from; i < to; i++) {
                    // silu'(g) = s (1 + g (1 - s)) with s = sigmoid(g)
                    dg[i] = d[i] * uv[i] * sig[i] * (1 + gv[i] * (1 - sig[i]));
                    du[i] = d[i] * gv[i] * sig[i];
                }
            });
            return new Tensor[]{Buffers.tensor(dg, gate.shape()), Buffers.tensor(du, up.shape())};
        }, gate, up);
    }

    static double value(Kind kind, double x) {
        return switch (kind) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_EXACT -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case RELU -> Math.max(0, x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
        };
    }

    static double derivative(Kind kind, double x) {
        return switch (kind) {
            case SILU -> {
                double s = 1 / (1 + Math.exp(-x));
                yield s * (1 + x * (1 - s));
            }
            case GELU_EXACT -> 0.5 * (1 + Erf.erf(x / Math.sqrt(2))) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            case GELU_TANH -> {
                double u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
                double th = Math.tanh(u);
                yield 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
            }
            case RELU -> x > 0 ? 1 : 0;
            case TANH -> 1 - Math.tanh(x) * Math.tanh(x);
            case SIGMOID -> {
                double s = 1 / (1 + Math.exp(-x));
                yield s * (1 - s);
            }
        };
    }
}
