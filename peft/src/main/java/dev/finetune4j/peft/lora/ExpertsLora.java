package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.StackedExperts;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterLayer;

/**
 * A LoRA adapter on one stacked expert parameter, PEFT 0.21's {@code lora.ParamWrapper} for {@code target_parameters}.
 *
 * <p>What PEFT computes (read from its source). The parameter is 3-D, (E, d1, d2). PEFT first takes {@code in} = d1
 * and {@code out} = d2, then swaps them unless the experts module says {@code is_transposed = True}: transformers 5
 * sets that flag on gpt-oss's experts only, whose matrices are multiplied as {@code x W[e]} and held (E, in, out). Every
 * other mixture it holds as linear layers' weights, (E, out, in), multiplied as {@code x W[e]^T}: Mistral 4's and
 * Gemma 4's as their checkpoints store them, Qwen3-VL-MoE's transposed from its checkpoint as it loads it. Either way
 * the adapter's two matrices have the same roles: {@code lora_A} (r E, in), expert e's A_e (r, in) its rows
 * {@code [e r, (e + 1) r)}, and {@code lora_B} (out, r E), expert e's B_e (out, r) its columns {@code j E + e}
 * (B reshaped to (out, r, E)). Expert e's update is {@code s B_e A_e} (out, in), s = alpha / r (alpha / sqrt r under
 * rsLoRA), which PEFT adds to the weight in the parameter's own orientation: its transpose {@code s A_e^T B_e^T}
 * (in, out) for gpt-oss ({@code einsum("o r e, e r i -> e i o", B, A)}), {@code s B_e A_e} itself for the others
 * ({@code "... -> e o i"}). So an expert's product gains {@code s (x A_e^T) B_e^T} whatever the orientation, which is
 * what {@link #project} adds; only {@link #delta} and merging depend on it. finetune4j holds Qwen3-VL-MoE's experts in
 * their checkpoint's (E, in, out): its in and out are transformers', so the adapter is PEFT's too.
 *
 * <p>PEFT applies the update by reparametrising the weight for the forward, so the two parameters of a layer are two
 * wrappers, nested in the order the experts module registers its parameters (not the config's order):
 * {@code gate_up_proj} innermost, under {@code base_layer}, {@code down_proj} around it. Here each is an
 * {@code ExpertsLora} around the experts or around the other one, so that the saved keys are PEFT's
 * ({@code mlp.experts.base_layer.lora_A.weight} for {@code gate_up_proj}, {@code mlp.experts.lora_A.weight} for
 * {@code down_proj}; Gemma 4's experts sit on the layer: {@code layers.N.experts...}). The updates of the two do not
 * interact: each changes its own parameter's products.
 *
 * <p>Thread safety: forward is safe concurrently; merge, unmerge and enabling are not.
 */
public final class ExpertsLora extends Module implements StackedExperts, AdapterLayer {
    private final String parameter;
    private final int rank;
    private final int experts;
    private final int in;
    private final int out;
    /** Whether the stacked weight is held (E, out, in), each expert's matrix a linear layer's weight. */
    private final boolean heldAsWeights;
    private final float scaling;
    private boolean enabled = true;
    private Tensor beforeMerge; // the stacked weight merge() replaced, until unmerge()

    /**
     * Wraps {@code baseLayer} with zero A and B (the injector initialises them or loads them).
     *
     * @param baseLayer the experts, or an adapter around them: a {@link StackedExperts} module
     * @param parameter the stacked parameter adapted, {@link FusedExperts#GATE_UP} or {@link FusedExperts#DOWN}
     * @param rank r
     * @param scaling s
     * @param scope where the adapter's weights live
     */
    public ExpertsLora(Module baseLayer, String parameter, int rank, double scaling, TensorScope scope) {
        this.parameter = parameter;
        this.rank = rank;
        this.scaling = (float) scaling;
        registerChild("base_layer", baseLayer);
        Tensor w = experts().parameter(parameter);
        this.heldAsWeights = experts().heldAsWeights();
        this.experts = w.dim(0);
        this.in = heldAsWeights ? w.dim(2) : w.dim(1);
        this.out = heldAsWeights ? w.dim(1) : w.dim(2);
        registerChild("lora_A", new Linear(scope, in, rank * experts, false));
        registerChild("lora_B", new Linear(scope, rank * experts, out, false));
    }

    /**
     * A (r E, in).
     *
     * @return the {@code lora_A} weight
     */
    public Tensor loraA() {
        return ((Linear) child("lora_A")).weight();
    }

    /**
     * B (out, r E).
     *
     * @return the {@code lora_B} weight
     */
    public Tensor loraB() {
        return ((Linear) child("lora_B")).weight();
    }

    /**
     * The wrapped module's product (x W[e], or x W[e]^T for weights held (out, in)), plus s (x A_e^T) B_e^T for this
     * adapter's parameter: the same in either orientation.
     */
    @Override
    public Tensor project(int expert, String name, Tensor x) {
        Tensor base = ((StackedExperts) baseLayer()).project(expert, name, x);
        if (!name.equals(parameter) || !enabled || beforeMerge != null) {
            return base;
        }
        return Elementwise.add(base, expertUpdate(x, loraA(), loraB(), expert, experts, scaling));
    }

    /**
     * One expert's update of its product, {@code s (x A_e^T) B_e^T}, from the stacked factors in PEFT's layout: the
     * serving engine's path too, which keeps each request's factors apart from the module tree.
     *
     * @param x the expert's tokens, (N, in)
     * @param a {@code lora_A}, (r E, in): A_e its rows {@code [e r, (e + 1) r)}
     * @param b {@code lora_B}, (out, r E): B_e its columns {@code j E + e}
     * @param expert e
     * @param experts E
     * @param scaling s
     * @return the update, (N, out)
     */
    public static Tensor expertUpdate(Tensor x, Tensor a, Tensor b, int expert, int experts, float scaling) {
        int rank = a.dim(0) / experts;
        int out = b.dim(0);
        Tensor aExpert = a.slice(0, expert * rank, (expert + 1) * rank);                                  // (r, in)
        Tensor bExpert = b.reshape(out, rank, experts).slice(2, expert, expert + 1).contiguous().reshape(out, rank);
        return Elementwise.scale(Matmul.linear(Matmul.linear(x, aExpert, null), bExpert, null), scaling);
    }

    /**
     * The stacked parameter this adapter changes.
     *
     * @return {@link FusedExperts#GATE_UP} or {@link FusedExperts#DOWN}
     */
    public String parameter() {
        return parameter;
    }

    /**
     * The update's factor s: alpha / r, or alpha / sqrt(r) under rsLoRA.
     *
     * @return s
     */
    public float scaling() {
        return scaling;
    }

    @Override
    public FusedExperts experts() {
        return ((StackedExperts) baseLayer()).experts();
    }

    /**
     * Every expert's update in the stacked weight's layout, without autograd, in the current scope: {@code s B_e A_e}
     * stacked (E, out, in) for experts held as linear layers' weights, its transpose {@code s A_e^T B_e^T} stacked
     * (E, in, out) for gpt-oss's and Qwen3-VL-MoE's.
     *
     * @return the update the adapter adds to the stacked weight
     */
    public Tensor delta() {
        try (var ng = Autograd.noGrad()) {
            Tensor a = loraA().reshape(experts, rank, in);                        // (E, r, in)
            Tensor b = loraB().reshape(out, rank, experts).permute(2, 0, 1);      // (E, out, r)
            Tensor update = heldAsWeights ? Matmul.matmul(b, a)                    // (E, out, in)
                    : Matmul.matmul(a.transpose(1, 2), b.transpose(1, 2));        // (E, in, out)
            return Elementwise.scale(update, scaling);
        }
    }

    @Override
    public Module baseLayer() {
        return child("base_layer");
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    /** {@code W <- W + delta()}, in W's dtype; the replaced weight is kept for {@link #unmerge()}. */
    @Override
    public void merge() {
        FusedExperts base = experts();
        Tensor w = base.parameter(parameter);
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            Tensor merged = Elementwise.add(w.to(DType.F32), delta()).convertTo(w.dtype(), w.scope());
            base.setParameter(parameter, merged.requiresGrad(w.requiresGrad()));
        }
        beforeMerge = w;
    }

    /** Puts the weight from before {@link #merge()} back, bit for bit. */
    @Override
    public void unmerge() {
        if (beforeMerge == null) {
            return;
        }
        FusedExperts base = experts();
        Tensor merged = base.parameter(parameter);
        base.setParameter(parameter, beforeMerge);
        beforeMerge = null;
        if (merged.scope().owns(merged)) {
            merged.scope().release(merged);
        }
    }
}
