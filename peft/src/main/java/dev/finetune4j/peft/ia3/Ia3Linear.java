package dev.finetune4j.peft.ia3;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterLayer;
import dev.finetune4j.peft.BaseLinear;

/**
 * IA3 around a frozen linear layer, PEFT's {@code ia3.Linear}: a learned vector {@code ia3_l} rescales the output,
 * y = base(x) * l with l (out, 1), or, for a feed-forward layer, the input, y = base(x * l) with l (1, in).
 *
 * <p>Thread safety: forward is safe concurrently; merge, unmerge and enabling are not.
 */
public final class Ia3Linear extends Module implements Layer, AdapterLayer {
    private final BaseLinear base;
    private final boolean feedforward;
    private boolean enabled = true;
    private boolean merged;

    /**
     * Wraps a frozen linear layer with a zero scaling vector (the injector sets it to ones or loads it).
     *
     * @param baseLayer the frozen layer (a Linear or a quantized linear)
     * @param base its linear view
     * @param feedforward true to scale the input (feed-forward layers), false to scale the output
     * @param scope where the vector lives
     */
    public Ia3Linear(Module baseLayer, BaseLinear base, boolean feedforward, TensorScope scope) {
        this.base = base;
        this.feedforward = feedforward;
        registerChild("base_layer", baseLayer);
        Shape shape = feedforward ? Shape.of(1, base.inFeatures()) : Shape.of(base.outFeatures(), 1);
        registerParameter("ia3_l", Tensor.zeros(scope, DType.F32, shape));
    }

    /**
     * The scaling vector, (out, 1) or (1, in) for feed-forward layers.
     *
     * @return the {@code ia3_l} parameter
     */
    public Tensor scales() {
        return parameter("ia3_l");
    }

    /** x: (..., in) -> (..., out). */
    @Override
    public Tensor forward(Tensor x) {
        if (!enabled || merged) {
            return base.forward(x);
        }
        Tensor l = scales().reshape(Math.toIntExact(scales().numel()));
        return feedforward ? base.forward(Elementwise.mul(x, l)) : Elementwise.mul(base.forward(x), l);
    }

    @Override
    public Module baseLayer() {
        return child("base_layer");
    }

    @Override
    public void setEnabled(boolean on) {
        enabled = on;
    }

    /** Scales W's columns (feed-forward) or rows and the bias (otherwise) by l; W becomes a new tensor. */
    @Override
    public void merge() {
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            base.setWeight(Elementwise.mul(base.weightTensor(), scales()));
            rescaleBias(scales(), false);
        }
        merged = true;
    }

    /**
     * Puts the weight from before the merge back bit for bit and divides the scaling out of the bias (inexact where
     * l is near 0, as in PEFT, which adds 1e-8).
     */
    @Override
    public void unmerge() {
        if (merged && !base.restoreWeight()) {
            throw new IllegalStateException("the base weight under this IA3 layer is not the one merge() replaced");
        }
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            rescaleBias(Elementwise.addScalar(scales(), 1e-8f), true);
        }
        merged = false;
    }

    /** bias * l or bias / l in place, for layers that scale their output rows (not feed-forward ones). */
    private void rescaleBias(Tensor l, boolean divide) {
        Tensor bias = base.bias();
        if (!feedforward && bias != null) {
            Tensor row = l.reshape(Math.toIntExact(l.numel()));
            Tensor scaled = divide ? Elementwise.div(bias, row) : Elementwise.mul(bias, row);
            bias.backend().copy().copy(scaled, bias);
        }
    }
}
