package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.XieluActivation;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Gated MLP: down_proj(act(gate_proj(x)) * up_proj(x)); SwiGLU when act is SiLU, GeGLU for Gemma. Phi-3 and Granite 4
 * fuse gate and up into one projection whose output holds the gate first ({@link DenseMlp}); Mixtral's experts name
 * the three projections w1 (gate), w3 (up) and w2 (down). StarCoder2's, Arcee's and Apertus's have no gate:
 * down(act(up(x))), Apertus's act being xIELU with its own learned scalars ({@code act_fn}, {@link XieluActivation}).
 * Falcon-H1's scales the gate projection before the activation and the output ({@code mlp_multipliers}).
 */
public final class DecoderMlp extends Module implements Layer {
    /** The activation's name where it is a module with parameters (Apertus's xIELU). */
    private static final String ACT_FN = "act_fn";

    /** The activation, or null where it is the {@link #ACT_FN} module. */
    private final Activations.Kind act;
    private final int intermediate;
    private final boolean fused;
    private final MlpNames names;
    /** Falcon-H1's factors on the gate projection (before the activation) and on the output; 1 elsewhere. */
    private final float gateMultiplier;
    private final float downMultiplier;

    /**
     * A dense layer's MLP as {@link DecoderConfig#denseMlp} names it, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     */
    public DecoderMlp(TensorScope scope, DecoderConfig c) {
        this(scope, c, c.intermediateSize(), c.denseMlp().fusedGateUp(), c.denseMlp().names(), c.mlpBias(),
                c.parallelHybrid() == null ? ParallelHybridConfig.NONE : c.parallelHybrid());
    }

    /**
     * Layer {@code layer}'s dense MLP, of that layer's width ({@link LayerShapes#intermediateSize}), zero until
     * loaded.
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param layer the layer's index
     */
    public DecoderMlp(TensorScope scope, DecoderConfig c, int layer) {
        this(scope, c, c.layerShapes().intermediateSize(layer), c.denseMlp().fusedGateUp(), c.denseMlp().names(), c.mlpBias(),
                c.parallelHybrid() == null ? ParallelHybridConfig.NONE : c.parallelHybrid());
    }

    /**
     * An expert of a mixture, or a mixture's shared expert: the same MLP with its own width, the checkpoint's names for
     * its projections and its own bias switch (transformers' stacked experts have no biases).
     *
     * @param scope owns the weights
     * @param c the configuration
     * @param width the MLP's intermediate width
     * @param names the projections' names
     * @param bias whether its projections have biases
     */
    DecoderMlp(TensorScope scope, DecoderConfig c, int width, MlpNames names, boolean bias) {
        this(scope, c, width, false, names, bias, ParallelHybridConfig.NONE);
    }

    private DecoderMlp(TensorScope scope, DecoderConfig c, int width, boolean fused, MlpNames names, boolean bias,
                       ParallelHybridConfig multipliers) {
        this.act = c.hiddenAct();
        this.intermediate = width;
        this.fused = fused;
        this.names = names;
        this.gateMultiplier = multipliers.mlpGate();
        this.downMultiplier = multipliers.mlpDown();
        if (fused) {
            registerChild(names.gate(), new Linear(scope, c.hiddenSize(), 2 * width, bias));
        } else if (names.gate() == null) {
            registerChild(names.up(), new Linear(scope, c.hiddenSize(), width, bias));
        } else {
            registerChild(names.gate(), new Linear(scope, c.hiddenSize(), width, bias));
            registerChild(names.up(), new Linear(scope, c.hiddenSize(), width, bias));
        }
        registerChild(names.down(), new Linear(scope, width, c.hiddenSize(), bias));
        if (act == null) {
            registerChild(ACT_FN, new XieluActivation(scope));
        }
    }

    /** x: (..., C) -> (..., C). */
    @Override
    public Tensor forward(Tensor x) {
        if (names.gate() == null) {
            Tensor up = layer(names.up()).forward(x);
            return layer(names.down()).forward(act == null ? layer(ACT_FN).forward(up) : Activations.apply(act, up));
        }
        Tensor gateUp = fused ? layer(names.gate()).forward(x) : null;
        Tensor gate = fused ? gateUp.slice(-1, 0, intermediate) : layer(names.gate()).forward(x);
        if (gateMultiplier != 1f) {
            gate = Elementwise.scale(gate, gateMultiplier);
        }
        Tensor up = fused ? gateUp.slice(-1, intermediate, 2 * intermediate) : layer(names.up()).forward(x);
        Tensor h = Activations.gated(act, gate, up);
        Tensor out = layer(names.down()).forward(h);
        return downMultiplier == 1f ? out : Elementwise.scale(out, downMultiplier);
    }
}
