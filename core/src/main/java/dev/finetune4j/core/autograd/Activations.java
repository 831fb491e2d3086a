package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Pointwise activations with their derivatives, SwiGLU's fused silu(gate) * up, and gpt-oss's clamped SwiGLU. */
public final class Activations {
    private Activations() {
    }

    /** The activation functions named by Hugging Face configs ({@code hidden_act}). */
    public enum Kind {
        /** x * sigmoid(x) ({@code silu}, {@code swish}). */
        SILU,
        /** The exact GELU with the error function ({@code gelu}). */
        GELU_EXACT,
        /** GELU's tanh approximation ({@code gelu_new}, {@code gelu_pytorch_tanh}, {@code gelu_fast}). */
        GELU_TANH,
        /** max(0, x). */
        RELU,
        /** The hyperbolic tangent. */
        TANH,
        /** 1 / (1 + e^-x). */
        SIGMOID,
        /** log(1 + e^x), x itself above 20 as PyTorch's default threshold (the gated DeltaNet's time steps). */
        SOFTPLUS,
        /** max(0, x)^2 ({@code relu2}: Arcee's MLP). */
        RELU2;

        /** Where PyTorch's softplus returns its argument unchanged. */
        private static final double SOFTPLUS_THRESHOLD = 20;

        private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

        /**
         * Maps a config's {@code hidden_act} / {@code activation_function} string.
         *
         * @param name the config's string, e.g. {@code silu}, {@code gelu_new}
         * @return the activation
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
                case "softplus" -> SOFTPLUS;
                case "relu2" -> RELU2;
                default -> throw new IllegalArgumentException("unsupported activation '" + name
                        + "'; supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh, sigmoid, "
                        + "softplus, relu2");
            };
        }

        /**
         * The config string {@link #fromConfig} reads back as this activation ({@code gelu} for the exact GELU,
         * {@code gelu_pytorch_tanh} for its tanh approximation).
         *
         * @return the name to write into a config
         */
        public String configName() {
            return switch (this) {
                case GELU_EXACT -> "gelu";
                case GELU_TANH -> "gelu_pytorch_tanh";
                default -> name().toLowerCase(java.util.Locale.ROOT);
            };
        }

        /**
         * f(x) in double.
         *
         * @param x the argument
         * @return f(x)
         */
        public double value(double x) {
            return switch (this) {
                case SILU -> x / (1 + Math.exp(-x));
                case GELU_EXACT -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
                case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
                case RELU -> Math.max(0, x);
                case TANH -> Math.tanh(x);
                case SIGMOID -> 1 / (1 + Math.exp(-x));
                case SOFTPLUS -> x > SOFTPLUS_THRESHOLD ? x : Math.log1p(Math.exp(x));
                case RELU2 -> x > 0 ? x * x : 0;
            };
        }

        /**
         * f'(x) in double.
         *
         * @param x the argument
         * @return f'(x)
         */
        public double derivative(double x) {
            return switch (this) {
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
                case SOFTPLUS -> x > SOFTPLUS_THRESHOLD ? 1 : 1 / (1 + Math.exp(-x));
                case RELU2 -> x > 0 ? 2 * x : 0;
            };
        }
    }

    /**
     * f(x) elementwise, x any shape -> x's shape; backward multiplies by f'(x).
     *
     * @param kind the activation
     * @param x the input, any shape
     * @return f(x), same shape as {@code x}
     */
    public static Tensor apply(Kind kind, Tensor x) {
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().activations().activation(kind, x, out);
        Tensor xd = x.detach();
        return Autograd.record(kind.name().toLowerCase(), Bf16Boundaries.output(out), dOut -> {
            Tensor dx = Tensor.empty(dOut.device(), x.shape());
            dOut.backend().activations().activationBackward(kind, xd, dOut, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /**
     * silu(gate) * up (SwiGLU, Shazeer 2020). gate, up: same shape -> that shape.
     *
     * @param gate the gate projection's output
     * @param up the up projection's output, same shape as {@code gate}
     * @return the gated product, same shape
     */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        if (!gate.shape().equals(up.shape())) {
            throw new IllegalArgumentException("swiglu: gate " + gate.shape() + " and up " + up.shape() + " differ");
        }
        Ops.sameDevice(gate, up);
        Tensor out = Tensor.empty(TensorScope.current(), gate.device(), Bf16Boundaries.activationDType(), gate.shape());
        gate.backend().activations().swiglu(gate, up, out);
        Tensor g = gate.detach();
        Tensor u = up.detach();
        // under BF16_MIXED the gradients of the bf16 gate and up are bf16 too (Precision): in a decoder's MLP only
        // the projections' products read them, which would round them anyway
        DType gradients = Bf16Boundaries.activationDType();
        return Autograd.record("swiglu", out, dOut -> {
            Tensor dGate = Tensor.empty(TensorScope.current(), dOut.device(), gradients, gate.shape());
            Tensor dUp = Tensor.empty(TensorScope.current(), dOut.device(), gradients, up.shape());
            dOut.backend().activations().swigluBackward(g, u, dOut, dGate, dUp);
            return new Tensor[]{dGate, dUp};
        }, gate, up);
    }

    /**
     * A gated MLP's hidden units, {@code act(gate) * up}: {@link #swiglu} where act is SiLU, GeGLU for Gemma's GELU.
     * gate, up: same shape -> that shape.
     *
     * @param act the gate's activation
     * @param gate the gate projection's output
     * @param up the up projection's output, same shape as {@code gate}
     * @return the gated product, same shape
     */
    public static Tensor gated(Kind act, Tensor gate, Tensor up) {
        return act == Kind.SILU ? swiglu(gate, up) : Elementwise.mul(apply(act, gate), up);
    }

    /**
     * gpt-oss's expert activation: the last dimension holds interleaved (gate, up) pairs, and each pair gives
     * {@code (u + 1) * g * sigmoid(alpha * g)} with {@code g = min(gate, limit)} and
     * {@code u = clamp(up, -limit, limit)}. gateUp: (..., 2I) -> (..., I).
     *
     * @param gateUp the interleaved pairs, (..., 2I)
     * @param alpha the sigmoid's gain (gpt-oss: 1.702)
     * @param limit the clamp's bound (gpt-oss: 7)
     * @return the activations, (..., I)
     */
    public static Tensor clampedSwiglu(Tensor gateUp, float alpha, float limit) {
        int pairs = gateUp.dim(-1);
        if (pairs % 2 != 0) {
            throw new IllegalArgumentException("clamped swiglu: the last dimension of " + gateUp.shape()
                    + " must hold (gate, up) pairs, so it must be even");
        }
        int[] dims = gateUp.shape().dims().clone();
        dims[dims.length - 1] = pairs / 2;
        Tensor x = gateUp.detach().contiguous();
        Tensor out = Tensor.empty(TensorScope.current(), gateUp.device(), Bf16Boundaries.activationDType(),
                Shape.of(dims));
        gateUp.backend().activations().clampedSwiglu(x, alpha, limit, out);
        DType gradients = Bf16Boundaries.activationDType();
        return Autograd.record("clampedSwiglu", out, dOut -> {
            Tensor dx = Tensor.empty(TensorScope.current(), dOut.device(), gradients, gateUp.shape());
            dOut.backend().activations().clampedSwigluBackward(x, alpha, limit, dOut, dx);
            return new Tensor[]{dx};
        }, gateUp);
    }
}
