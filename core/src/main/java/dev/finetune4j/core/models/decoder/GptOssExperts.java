package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * gpt-oss's experts, stacked as its checkpoints store them (transformers' {@code GptOssExperts}):
 * {@code gate_up_proj} (E, C, 2I) multiplied from the right ({@code x W}, not {@code x W^T}), its bias (E, 2I),
 * {@code down_proj} (E, I, C) and its bias (E, C). The gate and up projections are interleaved column by column,
 * and each pair meets in {@link Activations#clampedSwiglu}.
 */
public final class GptOssExperts extends Module {
    private final int hidden;
    private final int width;
    private final float alpha;
    private final float limit;

    /**
     * The experts of one layer, zero until loaded.
     *
     * @param scope owns the weights
     * @param hidden the hidden size C
     * @param moe the mixture's configuration: expert count, width I and the activation's gain and clamp
     */
    public GptOssExperts(TensorScope scope, int hidden, MoeConfig moe) {
        this.hidden = hidden;
        this.width = moe.expertIntermediateSize();
        this.alpha = moe.swigluAlpha();
        this.limit = moe.swigluLimit();
        int experts = moe.numExperts();
        registerParameter("gate_up_proj", Tensor.zeros(scope, DType.F32, Shape.of(experts, hidden, 2 * width)));
        registerParameter("gate_up_proj_bias", Tensor.zeros(scope, DType.F32, Shape.of(experts, 2 * width)));
        registerParameter("down_proj", Tensor.zeros(scope, DType.F32, Shape.of(experts, width, hidden)));
        registerParameter("down_proj_bias", Tensor.zeros(scope, DType.F32, Shape.of(experts, hidden)));
    }

    /**
     * Expert {@code expert}'s MLP over its tokens.
     *
     * @param expert the expert's index
     * @param x the tokens routed to it, (N, C)
     * @return its outputs, (N, C)
     */
    public Tensor forward(int expert, Tensor x) {
        Tensor gateUp = Elementwise.add(Matmul.matmul(x, slice("gate_up_proj", expert, hidden, 2 * width)),
                slice("gate_up_proj_bias", expert, 2 * width));
        Tensor activated = Activations.clampedSwiglu(gateUp, alpha, limit);
        return Elementwise.add(Matmul.matmul(activated, slice("down_proj", expert, width, hidden)),
                slice("down_proj_bias", expert, hidden));
    }

    /** Expert {@code expert}'s matrix or vector of the stacked parameter {@code name}, a view that carries gradients. */
    private Tensor slice(String name, int expert, int... dims) {
        return parameter(name).slice(0, expert, expert + 1).reshape(dims);
    }
}
