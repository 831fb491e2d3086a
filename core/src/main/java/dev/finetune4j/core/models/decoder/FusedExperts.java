package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.List;

/**
 * A layer's experts stacked into 3-D parameters as gpt-oss's and Qwen3-VL-MoE's checkpoints store them:
 * {@code gate_up_proj} (E, C, 2I) and {@code down_proj} (E, I, C), each multiplied from the right ({@code x W}, not
 * {@code x W^T}). gpt-oss interleaves the gate and up projections column by column, adds biases ({@code gate_up_proj_bias}
 * (E, 2I), {@code down_proj_bias} (E, C)) and meets each pair in {@link Activations#clampedSwiglu}; Qwen3-VL-MoE holds
 * the I gate columns, then the I up columns, without biases, through SwiGLU ({@link Layout}). Mistral 4's and Gemma 4's
 * checkpoints store them as transformers holds them, each expert's matrix a linear layer's weight: {@code gate_up_proj}
 * (E, 2I, C), the I gate rows then the I up rows, and {@code down_proj} (E, C, I), multiplied as {@code x W^T}. But
 * gpt-oss's, the gate meets the up half through the model's activation ({@code act(gate) * up}: SwiGLU, Gemma 4's
 * GeGLU). Under
 * QLoRA the two matrices are NF4 tensors of the same shapes, each expert's slice dequantized when its tokens are
 * multiplied.
 */
public final class FusedExperts extends Module implements StackedExperts, StackedMatrices {
    /** The stacked gate and up projections' name. */
    public static final String GATE_UP = "gate_up_proj";
    /** The stacked down projections' name. */
    public static final String DOWN = "down_proj";

    /** How the stacked experts hold and activate their gate and up projections. */
    private enum Layout {
        /** gpt-oss: gate and up columns interleaved, biases, the clamped SwiGLU of {@code swiglu_alpha} and {@code swiglu_limit}. */
        GPT_OSS,
        /** Qwen3-VL-MoE: the gate columns, then the up columns, no biases. */
        HALVES,
        /** Mistral 4 and Gemma 4: HALVES' rules over each expert's matrices held as (out, in) weights, x W^T. */
        HALVES_AS_WEIGHTS
    }

    private final Layout layout;
    /** The activation of the gate half (unused by gpt-oss's clamped SwiGLU). */
    private final Activations.Kind act;
    private final int hidden;
    private final int width;
    private final float alpha;
    private final float limit;

    /**
     * The experts of one layer, zero until loaded.
     *
     * @param scope owns the weights
     * @param hidden the hidden size C
     * @param moe the mixture's configuration: expert count, width I, layout and (gpt-oss) the activation's gain and clamp
     * @param act the gate's activation ({@code hidden_act}; gpt-oss's experts have their own)
     */
    public FusedExperts(TensorScope scope, int hidden, MoeConfig moe, Activations.Kind act) {
        this.layout = switch (moe.naming()) {
            case GPT_OSS -> Layout.GPT_OSS;
            case MISTRAL4, GEMMA4 -> Layout.HALVES_AS_WEIGHTS;
            default -> Layout.HALVES;
        };
        this.act = act;
        this.hidden = hidden;
        this.width = moe.expertIntermediateSize();
        this.alpha = moe.swigluAlpha();
        this.limit = moe.swigluLimit();
        int experts = moe.numExperts();
        boolean asWeights = layout == Layout.HALVES_AS_WEIGHTS;
        registerParameter(GATE_UP, Tensor.zeros(scope, DType.F32,
                asWeights ? Shape.of(experts, 2 * width, hidden) : Shape.of(experts, hidden, 2 * width)));
        registerParameter(DOWN, Tensor.zeros(scope, DType.F32,
                asWeights ? Shape.of(experts, hidden, width) : Shape.of(experts, width, hidden)));
        if (layout == Layout.GPT_OSS) {
            registerParameter(GATE_UP + "_bias", Tensor.zeros(scope, DType.F32, Shape.of(experts, 2 * width)));
            registerParameter(DOWN + "_bias", Tensor.zeros(scope, DType.F32, Shape.of(experts, hidden)));
        }
    }

    /**
     * Expert {@code expert}'s MLP over its tokens, its products taken through {@code products} (these experts, or an
     * adapter around them).
     *
     * @param products the experts' products, with any adapter's updates
     * @param expert the expert's index
     * @param x the tokens routed to it, (N, C)
     * @return its outputs, (N, C)
     */
    public Tensor mlp(StackedExperts products, int expert, Tensor x) {
        Tensor gateUp = products.project(expert, GATE_UP, x);
        if (layout != Layout.GPT_OSS) {
            Tensor activated = Activations.gated(act, gateUp.slice(-1, 0, width), gateUp.slice(-1, width, 2 * width));
            return products.project(expert, DOWN, activated);
        }
        Tensor activated = Activations.clampedSwiglu(Elementwise.add(gateUp, slice(GATE_UP + "_bias", expert, 2 * width)),
                alpha, limit);
        return Elementwise.add(products.project(expert, DOWN, activated), slice(DOWN + "_bias", expert, hidden));
    }

    /**
     * x W[e] (Mistral 4's and Gemma 4's: x W[e]^T); from NF4 weights (QLoRA) through a dequantized scratch copy of the expert's
     * matrix.
     */
    @Override
    public Tensor project(int expert, String parameter, Tensor x) {
        Tensor w = parameter(parameter);
        boolean asWeights = heldAsWeights();
        if (w.dtype() == DType.NF4) {
            return Matmul.matmulNf4Slice(x, w, (long) expert * w.dim(1) * w.dim(2), w.dim(1), w.dim(2), asWeights);
        }
        Tensor matrix = slice(parameter, expert, w.dim(1), w.dim(2));
        return asWeights ? Matmul.linear(x, matrix, null) : Matmul.matmul(x, matrix);
    }

    /**
     * Whether each expert's matrices are held as linear layers' (out, in) weights and multiplied as {@code x W^T}
     * (Mistral 4's and Gemma 4's, as transformers holds and stores them) rather than {@code x W}.
     *
     * @return true for Mistral 4's and Gemma 4's experts
     */
    public boolean heldAsWeights() {
        return layout == Layout.HALVES_AS_WEIGHTS;
    }

    /**
     * Whether transformers 5 holds these matrices transposed from their checkpoint layout (Qwen3-VL-MoE's, which it
     * turns into (E, 2I, C) and (E, C, I) as it loads them; gpt-oss's it holds as stored), so that a folder saved by
     * transformers holds them transposed from the hub's.
     *
     * @return true for Qwen3-VL-MoE's experts
     */
    public boolean transposedByTransformers() {
        return layout == Layout.HALVES;
    }

    /** {@link #GATE_UP} and {@link #DOWN}, not their biases. */
    @Override
    public List<String> matrixNames() {
        return List.of(GATE_UP, DOWN);
    }

    @Override
    public FusedExperts experts() {
        return this;
    }

    /** Expert {@code expert}'s matrix or vector of the stacked parameter {@code name}, a view that carries gradients. */
    private Tensor slice(String name, int expert, int... dims) {
        return parameter(name).slice(0, expert, expert + 1).reshape(dims);
    }
}
