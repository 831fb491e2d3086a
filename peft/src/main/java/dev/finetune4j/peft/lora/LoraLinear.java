package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Dropout;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.nn.EffectiveWeight;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterLayer;
import dev.finetune4j.peft.BaseLinear;

import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * A LoRA adapter around a frozen linear layer, PEFT's {@code lora.Linear}, with the tree PEFT has:
 * {@code base_layer}, {@code lora_A} (r, in), {@code lora_B} (out, r) and the parameters of its
 * {@link LoraVariant} (DoRA's {@code lora_magnitude_vector} (out)). The variant computes the output and the merged
 * weight: plain LoRA gives y = base(x) + s B A dropout(x), s = alpha / r (alpha / sqrt(r) with rsLoRA).
 *
 * <p>Thread safety: forward is safe concurrently when not training (dropout draws from a shared stream);
 * merge, unmerge and enabling are not.
 */
public final class LoraLinear extends Module implements Layer, AdapterLayer, EffectiveWeight {
    private final BaseLinear base;
    private final float scaling;
    private final float dropout;
    private final LoraVariant variant;
    private final Supplier<SplittableRandom> random;
    private boolean enabled = true;
    private boolean merged;

    /**
     * Wraps a frozen linear layer with zero A and B (the injector initialises them or loads them).
     *
     * @param baseLayer the frozen layer (a Linear or a quantized linear)
     * @param base      its linear view
     * @param rank      r
     * @param scaling   s
     * @param dropout   dropout probability on the adapter input in training mode
     * @param variant   the flavour of LoRA, for this layer alone ({@link LoraVariant#of})
     * @param scope     where the adapter's weights live
     * @param random    the dropout stream (the base model's, so that checkpoints restore it)
     */
    public LoraLinear(Module baseLayer, BaseLinear base, int rank, double scaling, double dropout, LoraVariant variant,
                      TensorScope scope, Supplier<SplittableRandom> random) {
        this.base = base;
        this.scaling = (float) scaling;
        this.dropout = (float) dropout;
        this.variant = variant;
        this.random = random;
        registerChild("base_layer", baseLayer);
        registerChild("lora_A", new Linear(scope, base.inFeatures(), rank, false));
        registerChild("lora_B", new Linear(scope, rank, base.outFeatures(), false));
        variant.parameters(base.outFeatures()).forEach((name, shape) -> registerParameter(name, Tensor.zeros(scope, DType.F32, shape)));
    }

    /**
     * A (r, in).
     *
     * @return the {@code lora_A} weight
     */
    public Tensor loraA() {
        return ((Linear) child("lora_A")).weight();
    }

    /**
     * B (out, r).
     *
     * @return the {@code lora_B} weight
     */
    public Tensor loraB() {
        return ((Linear) child("lora_B")).weight();
    }

    /**
     * s.
     *
     * @return the scaling of the update, {@code alpha / r} (or {@code alpha / sqrt(r)} with rsLoRA)
     */
    public float scaling() {
        return scaling;
    }

    /**
     * The frozen layer's linear view.
     *
     * @return the base
     */
    public BaseLinear base() {
        return base;
    }

    /**
     * The flavour of LoRA this layer computes.
     *
     * @return the variant
     */
    public LoraVariant variant() {
        return variant;
    }

    /** Lets the variant set its parameters from the initial A and B (DoRA's magnitude: the row norms of W + s B A). */
    void initialiseVariant() {
        variant.initialise(this);
    }

    /** x: (..., in) -> (..., out). */
    @Override
    public Tensor forward(Tensor x) {
        if (!enabled || merged) {
            return base.forward(x);
        }
        boolean drop = isTraining() && dropout > 0;
        // NOTE: the key's seed is the next draw of the model's dropout stream, which the training loop reseeds per
        // step and micro-batch; a per-layer call counter would restart at 0 in a resumed run and change its masks.
        Tensor dropped = drop ? Dropout.apply(x, dropout, new DropoutKey(random.get().nextLong(), 0, 0)) : x;
        return variant.forward(this, x, dropped);
    }

    /**
     * DoRA's scale m / ||W + s B A||_row (out) with the current weights: the norm is computed without autograd (PEFT
     * detaches it), the magnitude gets its gradient.
     *
     * @return the scale in the current scope, or null for a plain LoRA layer
     */
    public Tensor doraScale() {
        return variant instanceof DoraVariant ? DoraVariant.scale(this) : null;
    }

    /**
     * DoRA's magnitude vector m (out), or null for a plain LoRA layer.
     *
     * @return the layer's own magnitude parameter, or null
     */
    public Tensor doraMagnitude() {
        return variant instanceof DoraVariant ? parameter(DoraVariant.MAGNITUDE) : null;
    }

    /**
     * {@link #doraScale()} from parts held outside a layer: m / ||W + s B A||_row, without autograd for the norm.
     *
     * @param magnitude m (out)
     * @param weight    the base weight W (out, in), in any dtype
     * @param loraA     A (r, in)
     * @param loraB     B (out, r)
     * @param scaling   s
     * @return the scale (out) in the current scope
     */
    public static Tensor doraScale(Tensor magnitude, Tensor weight, Tensor loraA, Tensor loraB, float scaling) {
        return DoraVariant.scale(magnitude, weight, loraA, loraB, scaling);
    }

    /**
     * DoRA's output from its parts: y = base(x) + (scale - 1) (base(x) - bias) + scale s B A x.
     *
     * @param result     base(x) (..., out)
     * @param baseResult base(x) without the bias (..., out)
     * @param scale      {@link #doraScale()} (out)
     * @param lora       B A x without the scaling (..., out)
     * @param scaling    s
     * @return the layer's output (..., out)
     */
    public static Tensor doraOutput(Tensor result, Tensor baseResult, Tensor scale, Tensor lora, float scaling) {
        return DoraVariant.output(result, baseResult, scale, lora, scaling);
    }

    /**
     * s B A as an (out, in) tensor in the current scope, without autograd.
     *
     * @return the update the adapter adds to W
     */
    public Tensor delta() {
        try (var ng = Autograd.noGrad()) {
            return delta(loraA(), loraB(), scaling);
        }
    }

    /**
     * The weight an adapter's parts amount to, {@code W + s B A}, each row rescaled by DoRA's scale when one is
     * given, without autograd: what {@link #merge()} writes and what {@link #effectiveWeight()} returns, from parts
     * held inside a layer or outside one (the inference engine's).
     *
     * @param weight    the base weight W (out, in), in any dtype the products read
     * @param loraA     A (r, in)
     * @param loraB     B (out, r)
     * @param scaling   s
     * @param doraScale DoRA's m / ||W + s B A||_row (out) ({@link #doraScale()}), or null for plain LoRA
     * @return the (out, in) weight in the current scope
     */
    public static Tensor mergedWeight(Tensor weight, Tensor loraA, Tensor loraB, float scaling, Tensor doraScale) {
        try (var ng = Autograd.noGrad()) {
            Tensor merged = Elementwise.add(weight, delta(loraA, loraB, scaling));
            return doraScale == null ? merged : Elementwise.mul(merged, doraScale.reshape(doraScale.dim(0), 1));
        }
    }

    private static Tensor delta(Tensor loraA, Tensor loraB, float scaling) {
        return Elementwise.scale(Matmul.matmul(loraB, loraA), scaling);
    }

    /**
     * The weight the output amounts to: the base's while disabled or merged, else the variant's merged weight
     * ({@code W + s B A}, DoRA's rescaled rows); null in training with dropout, where no one weight gives it, or over
     * a base with a bias, which no weight holds.
     *
     * @return the (out, in) weight, or null
     */
    @Override
    public Tensor effectiveWeight() {
        if (isTraining() && dropout > 0 || base.bias() != null) {
            return null;
        }
        try (var ng = Autograd.noGrad()) {
            return !enabled || merged ? base.weightTensor() : variant.mergedWeight(this);
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

    /** Writes the variant's merged weight into the base: {@code W <- W + s B A} for plain LoRA. */
    @Override
    public void merge() {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            base.setWeight(variant.mergedWeight(this));
        }
        merged = true;
    }

    /**
     * The inverse of {@link #merge()}: the weight from before the merge comes back bit for bit (merge wrote a new
     * tensor and the base kept the old one).
     *
     * @throws IllegalStateException when the base weight was replaced behind this adapter's back
     */
    @Override
    public void unmerge() {
        if (merged && !base.restoreWeight()) {
            throw new IllegalStateException("the base weight under this LoRA layer is not the one merge() replaced");
        }
        merged = false;
    }
}
