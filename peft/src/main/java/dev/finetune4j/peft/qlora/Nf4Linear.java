package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.BaseLinear;

/**
 * A frozen linear layer whose weight is stored in {@link Nf4} (bitsandbytes' {@code Linear4bit}): forward
 * dequantizes the weight (out, in) into the step's scope and multiplies in float32, so gradients flow to the input
 * (and to a LoRA adapter on top) but never to the weight. The bias, if any, stays float32.
 *
 * <p>Thread safety: forward is safe concurrently; {@link #setWeightOutIn} is not.
 */
public final class Nf4Linear extends Module implements Layer, BaseLinear {
    private final int inFeatures;
    private final int outFeatures;
    private final boolean hasBias;
    private volatile Nf4.Quantized weight;

    /** Quantizes {@code linear}'s weight (either layout); its bias is copied into {@code scope}. */
    public Nf4Linear(Linear linear, TensorScope scope) {
        this.inFeatures = linear.inFeatures();
        this.outFeatures = linear.outFeatures();
        this.hasBias = linear.hasBias();
        this.weight = Nf4.quantize(BaseLinear.of(linear, "").weightOutIn());
        if (hasBias) {
            float[] b = linear.parameter("bias").toFloatArray();
            registerParameter("bias", Tensor.of(scope, b, outFeatures));
        }
    }

    /** The quantized weight. */
    public Nf4.Quantized quantizedWeight() {
        return weight;
    }

    @Override
    public int inFeatures() {
        return inFeatures;
    }

    @Override
    public int outFeatures() {
        return outFeatures;
    }

    /** x: (..., in) -> (..., out) through the dequantized weight. */
    @Override
    public Tensor forward(Tensor x) {
        Tensor w = Tensor.of(Nf4.dequantize(weight), outFeatures, inFeatures);
        return Matmul.linear(x, w, bias());
    }

    @Override
    public float[] weightOutIn() {
        return Nf4.dequantize(weight);
    }

    /** Requantizes (merging an adapter into an NF4 weight rounds it to NF4 again, as PEFT with bitsandbytes does). */
    @Override
    public void setWeightOutIn(float[] w) {
        weight = Nf4.quantize(w);
    }

    @Override
    public Tensor bias() {
        return hasBias ? parameter("bias") : null;
    }
}
