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
 * A LoRA adapter on one stacked expert parameter (E, in, out), PEFT's {@code lora.ParamWrapper} for
 * {@code target_parameters}: {@code lora_A} (r E, in) holds expert e's A in rows {@code [e r, (e + 1) r)} and
 * {@code lora_B} (out, r E) its B in columns {@code j E + e}, so that expert e's weight becomes
 * {@code W[e] + s A_e^T B_e^T} (PEFT's {@code einsum("o r e, e r i -> e i o", B, A)}). Around the experts (or around
 * another such adapter, when a layer's two parameters are targeted: the first listed inside, as PEFT nests them)
 * under {@code base_layer}, so that the saved keys are PEFT's ({@code mlp.experts.lora_A.weight},
 * {@code mlp.experts.base_layer.lora_A.weight}).
 *
 * <p>Thread safety: forward is safe concurrently; merge, unmerge and enabling are not.
 */
public final class ExpertsLora extends Module implements StackedExperts, AdapterLayer {
    private final String parameter;
    private final int rank;
    private final int experts;
    private final int out;
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
        this.experts = w.dim(0);
        this.out = w.dim(2);
        registerChild("lora_A", new Linear(scope, w.dim(1), rank * experts, false));
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

    /** x W[e] through the wrapped module, plus s (x A_e^T) B_e^T for this adapter's parameter. */
    @Override
    public Tensor project(int expert, String name, Tensor x) {
        Tensor base = ((StackedExperts) baseLayer()).project(expert, name, x);
        if (!name.equals(parameter) || !enabled || beforeMerge != null) {
            return base;
        }
        Tensor a = loraA().slice(0, expert * rank, (expert + 1) * rank);                   // (r, in)
        Tensor b = loraB().reshape(out, rank, experts).slice(2, expert, expert + 1).contiguous().reshape(out, rank);
        return Elementwise.add(base, Elementwise.scale(Matmul.linear(Matmul.linear(x, a, null), b, null), scaling));
    }

    @Override
    public FusedExperts experts() {
        return ((StackedExperts) baseLayer()).experts();
    }

    /**
     * s A_e^T B_e^T for every expert, (E, in, out) in the current scope, without autograd.
     *
     * @return the update the adapter adds to the stacked weight
     */
    public Tensor delta() {
        try (var ng = Autograd.noGrad()) {
            Tensor a = loraA().reshape(experts, rank, loraA().dim(1)).transpose(1, 2); // (E, in, r)
            Tensor b = loraB().reshape(out, rank, experts).permute(2, 1, 0);         // (E, r, out)
            return Elementwise.scale(Matmul.matmul(a, b), scaling);
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
