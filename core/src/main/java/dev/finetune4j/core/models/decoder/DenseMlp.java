package dev.finetune4j.core.models.decoder;

/**
 * Where a dense layer's MLP sits in the checkpoint's module tree and what its projections are called.
 *
 * @param module the MLP's name in its layer ({@code mlp}; Granite 4's {@code shared_mlp}, LFM2's and Falcon-H1's
 *               {@code feed_forward})
 * @param names its projections' names; when {@code fusedGateUp}, {@code gate} and {@code up} both name the one
 *              projection whose output holds the gate first, then the up half; a null gate for an MLP without one
 *              ({@link #gated})
 * @param fusedGateUp whether gate and up share one projection (Phi-3's and GLM's {@code gate_up_proj}, Granite 4's
 *                    {@code input_linear})
 */
public record DenseMlp(String module, MlpNames names, boolean fusedGateUp) {
    /** {@code mlp.gate_proj}, {@code mlp.up_proj}, {@code mlp.down_proj}. */
    public static final DenseMlp STANDARD = new DenseMlp("mlp", MlpNames.STANDARD, false);
    /** Phi-3, GLM and GLM-4: {@code mlp.gate_up_proj} and {@code mlp.down_proj}. */
    public static final DenseMlp GATE_UP = new DenseMlp("mlp", new MlpNames("gate_up_proj", "gate_up_proj", "down_proj"), true);
    /** Granite 4 ({@code granitemoehybrid}): {@code shared_mlp.input_linear} and {@code shared_mlp.output_linear}. */
    public static final DenseMlp GRANITE_SHARED = new DenseMlp("shared_mlp",
            new MlpNames("input_linear", "input_linear", "output_linear"), true);

    /** Falcon-H1: {@code feed_forward.gate_proj}, {@code feed_forward.up_proj}, {@code feed_forward.down_proj}. */
    public static final DenseMlp FALCON_H1 = new DenseMlp("feed_forward", MlpNames.STANDARD, false);
    /** LFM2: {@code feed_forward.w1} (gate), {@code w3} (up), {@code w2} (down), as Mixtral's experts. */
    public static final DenseMlp LFM2 = new DenseMlp("feed_forward", MlpNames.MIXTRAL, false);
    /** StarCoder2: {@code mlp.c_fc}, the activation, {@code mlp.c_proj}, no gate. */
    public static final DenseMlp STARCODER2 = new DenseMlp("mlp", new MlpNames(null, "c_fc", "c_proj"), false);
    /** Nemotron-H's MLP layers: {@code mixer.up_proj}, the squared ReLU, {@code mixer.down_proj}, no gate. */
    public static final DenseMlp NEMOTRON_H = new DenseMlp("mixer", new MlpNames(null, "up_proj", "down_proj"), false);
    /** Arcee: {@code mlp.up_proj}, the activation, {@code mlp.down_proj}, no gate. */
    public static final DenseMlp UP_DOWN = new DenseMlp("mlp", new MlpNames(null, "up_proj", "down_proj"), false);

    /**
     * Whether the MLP multiplies by a gate: {@code down(act(gate(x)) * up(x))}, else {@code down(act(up(x)))}.
     *
     * @return false for StarCoder2's and Arcee's MLPs
     */
    public boolean gated() {
        return names.gate() != null;
    }

    /**
     * The name of the projection that computes the gate half (the fused projection's when {@link #fusedGateUp}).
     *
     * @return the gate's (or the fused projection's) name
     */
    public String gateUp() {
        return names.gate();
    }
}
