package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)); SwiGLU when act is SiLU, GeGLU for Gemma. Phi-3 fuses
 * gate and up into one {@code gate_up_proj} whose output holds the gate first.
 */
public final class DecoderMlp extends Module implements Layer {
    private final Activations.Kind act;
    private final int intermediate;
    private final boolean fused;

    /**
     * The MLP's projections, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderMlp(TensorScope scope, DecoderConfig c) {
        this.act = c.hiddenAct();
        this.intermediate = c.intermediateSize();
        this.fused = c.fusedProjections();
        if (fused) {
            registerChild("gate_up_proj", new Linear(scope, c.hiddenSize(), 2 * c.intermediateSize(), c.mlpBias()));
        } else {
            registerChild("gate_proj", new Linear(scope, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
            registerChild("up_proj", new Linear(scope, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        }
        registerChild("down_proj", new Linear(scope, c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x) {
        Tensor gateUp = fused ? layer("gate_up_proj").forward(x) : null;
        Tensor gate = fused ? gateUp.slice(-1, 0, intermediate) : layer("gate_proj").forward(x);
        Tensor up = fused ? gateUp.slice(-1, intermediate, 2 * intermediate) : layer("up_proj").forward(x);
        Tensor h = act == Activations.Kind.SILU ? Activations.swiglu(gate, up) : Elementwise.mul(Activations.apply(act, gate), up);
        return layer("down_proj").forward(h);
    }
}
