package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/** Gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)); SwiGLU when act is SiLU. */
public final class DecoderMlp extends Module implements Layer {
    private final Activations.Kind act;

    /**
     * The MLP's projections, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderMlp(TensorScope scope, DecoderConfig c) {
        this.act = c.hiddenAct();
        registerChild("gate_proj", new Linear(scope, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        registerChild("up_proj", new Linear(scope, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        registerChild("down_proj", new Linear(scope, c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor gate = layer("gate_proj").forward(x);
        Tensor up = layer("up_proj").forward(x);
        Tensor h = act == Activations.Kind.SILU ? Activations.swiglu(gate, up) : Elementwise.mul(Activations.apply(act, gate), up);
        return layer("down_proj").forward(h);
    }
}
