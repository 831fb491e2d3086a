package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Norms;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Gemma 4's router ({@code router}, beside the layer's MLP): the router logits
 * {@code proj(rms(h) * scale * C^-0.5)} of the layer's residual stream h, its RMS norm without a weight of its own,
 * {@code scale} (C) and the projection {@code proj} (E, C) as the checkpoints name them. It also holds
 * {@code per_expert_scale} (E), which multiplies each chosen expert's routing weight after the renormalisation
 * ({@link SparseMoeBlock}).
 */
public final class Gemma4Router extends Module implements Layer {
    /** The factor on each chosen expert's weight, as the checkpoints name it. */
    static final String PER_EXPERT_SCALE = "per_expert_scale";

    private final float eps;
    private final float rootScale;

    /**
     * A router over {@code experts} experts, its scales one and its projection zero until loaded.
     *
     * @param scope owns the weights
     * @param hidden the hidden size C
     * @param experts the experts E
     * @param eps the norm's epsilon ({@code rms_norm_eps})
     */
    Gemma4Router(TensorScope scope, int hidden, int experts, float eps) {
        this.eps = eps;
        this.rootScale = (float) Math.pow(hidden, -0.5);
        registerChild("proj", new Linear(scope, hidden, experts, false));
        Tensor scale = registerParameter("scale", Tensor.zeros(scope, DType.F32, Shape.of(hidden)));
        Tensor perExpert = registerParameter(PER_EXPERT_SCALE, Tensor.zeros(scope, DType.F32, Shape.of(experts)));
        scale.backend().copy().fill(scale, 1f);
        perExpert.backend().copy().fill(perExpert, 1f);
    }

    /** h: (N, C) -> the router logits (N, E). */
    @Override
    public Tensor forward(Tensor h) {
        // the weightless norm times scale is an RMS norm whose weight is scale
        return layer("proj").forward(Elementwise.scale(Norms.rmsNorm(h, parameter("scale"), eps), rootScale));
    }
}
