package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)); SwiGLU when act is SiLU, GeGLU for Gemma. Phi-3 and Granite 4
 * fuse gate and up into one projection whose output holds the gate first ({@link DenseMlp}); Mixtral's experts name
 * the three projections w1 (gate), w3 (up) and w2 (down). StarCoder2's and Arcee's have no gate: down(act(up(x))).
 */
public final class DecoderMlp extends Module implements Layer {
    private final Activations.Kind act;
    private final int intermediate;
    private final boolean fused;
    private final MlpNames names;

    /**
     * A dense layer's MLP as {@link DecoderConfig#denseMlp} names it, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderMlp(TensorScope scope, DecoderConfig c) {
        this(scope, c, c.intermediateSize(), c.denseMlp().fusedGateUp(), c.denseMlp().names());
    }

    /**
     * An expert of a mixture, or Qwen2-MoE's shared expert: the same MLP with its own width and the checkpoint's
     * names for its projections.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param width the MLP's intermediate width
     * @param names the projections' names
     */
    DecoderMlp(TensorScope scope, DecoderConfig c, int width, MlpNames names) {
        this(scope, c, width, false, names);
    }

    private DecoderMlp(TensorScope scope, DecoderConfig c, int width, boolean fused, MlpNames names) {
        this.act = c.hiddenAct();
        this.intermediate = width;
        this.fused = fused;
        this.names = names;
        if (fused) {
            registerChild(names.gate(), new Linear(scope, c.hiddenSize(), 2 * width, c.mlpBias()));
        } else if (names.gate() == null) {
            registerChild(names.up(), new Linear(scope, c.hiddenSize(), width, c.mlpBias()));
        } else {
            registerChild(names.gate(), new Linear(scope, c.hiddenSize(), width, c.mlpBias()));
            registerChild(names.up(), new Linear(scope, c.hiddenSize(), width, c.mlpBias()));
        }
        registerChild(names.down(), new Linear(scope, width, c.hiddenSize(), c.mlpBias()));
    }

    /** x: (..., C) -> (..., C). */
    @Override
    public Tensor forward(Tensor x) {
        if (names.gate() == null) {
            return layer(names.down()).forward(Activations.apply(act, layer(names.up()).forward(x)));
        }
        Tensor gateUp = fused ? layer(names.gate()).forward(x) : null;
        Tensor gate = fused ? gateUp.slice(-1, 0, intermediate) : layer(names.gate()).forward(x);
        Tensor up = fused ? gateUp.slice(-1, intermediate, 2 * intermediate) : layer(names.up()).forward(x);
        Tensor h = act == Activations.Kind.SILU ? Activations.swiglu(gate, up) : Elementwise.mul(Activations.apply(act, gate), up);
        return layer(names.down()).forward(h);
    }
}
