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
 * multiplies in float32 by the dequantized weight (out, in), so gradients flow to the input (and to a LoRA adapter
 * on top) but never to the weight. The bias, if any, stays float32.
 *
 * <p>The dequantized weight is made once per quantized value set and kept in the model's parameter scope (rebuilt
 * after {@link #setWeightOutIn}): dequantizing on every call cost about 20x LoRA's time and gave the frozen-weight
 * cache a new tensor to copy and pack each call. The trade: a float32 copy of each quantized weight lives beside
 * its NF4 codes while the layer is used; the saved and merged weights are still the NF4 ones.
 *
 * <p>Thread safety: forward is safe concurrently; {@link #setWeightOutIn} is not.
 */
public final class Nf4Linear extends Module implements Layer, BaseLinear {
    private final int inFeatures;
    private final int outFeatures;
    private final boolean hasBias;
    private final TensorScope scope;
    private volatile Nf4.Quantized weight;
    private volatile Dequantized dequantized; // of the current weight, or null until first used

    /** A float32 (out, in) tensor holding the values of {@code source}. */
    private record Dequantized(Nf4.Quantized source, Tensor weight) {
    }

    /**
     * Quantizes {@code linear}'s weight (either layout); its bias is copied into {@code scope}.
     *
     * @param linear the full-precision layer; its weight is not kept
     * @param scope owns the bias copy
     */
    public Nf4Linear(Linear linear, TensorScope scope) {
        this.inFeatures = linear.inFeatures();
        this.outFeatures = linear.outFeatures();
        this.hasBias = linear.hasBias();
        this.scope = scope;
        this.weight = Nf4.quantize(BaseLinear.of(linear, "").weightOutIn());
        if (hasBias) {
            float[] b = linear.parameter("bias").toFloatArray();
            registerParameter("bias", Tensor.of(scope, b, outFeatures));
        }
    }

    /**
     * The quantized weight.
     *
     * @return the NF4 codes and block maxima
     */
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
        return Matmul.linear(x, dequantizedWeight(), bias());
    }

    /** The dequantized weight (out, in) of the current quantized values, made on first use and then reused. */
    Tensor dequantizedWeight() {
        Dequantized d = dequantized;
        if (d != null && d.source() == weight) {
            return d.weight();
        }
        synchronized (this) {
            d = dequantized;
            Nf4.Quantized source = weight;
            if (d == null || d.source() != source) {
                if (d != null) {
                    scope.release(d.weight()); // stale since setWeightOutIn, which never overlaps a forward pass
                }
                // named like the weight it stands for: the CPU backend packs named frozen weights once
                d = new Dequantized(source, Tensor.of(scope, Nf4.dequantize(source), outFeatures, inFeatures)
                        .named("weight"));
                dequantized = d;
            }
            return d.weight();
        }
    }

    @Override
    public Tensor weightTensor() {
        return dequantizedWeight();
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
    public long quantizedParameters() {
        return weight.size();
    }

    @Override
    public Tensor bias() {
        return hasBias ? parameter("bias") : null;
    }
}
