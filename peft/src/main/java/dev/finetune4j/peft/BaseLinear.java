package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

/**
 * The frozen linear layer under an adapter: a dense {@link Linear} (either weight layout) or an NF4-quantized
 * one. Merging and DoRA see its weight as a dense (out, in) matrix whatever the storage.
 *
 * <p>Thread safety: reads are safe concurrently; {@link #setWeight} is not.
 */
public interface BaseLinear {

    /**
     * The input size.
     *
     * @return the size of each input's last dimension
     */
    int inFeatures();

    /**
     * The output size.
     *
     * @return the size of each output's last dimension
     */
    int outFeatures();

    /**
     * y = x W^T + b. x: (..., in) -> (..., out).
     *
     * @param x the input, (..., in)
     * @return the output, (..., out)
     */
    Tensor forward(Tensor x);

    /**
     * A dense float32 copy of the weight as (out, in), row-major.
     *
     * @return a new array of {@code out * in} values
     */
    float[] weightOutIn();

    /**
     * The weight as a float32 (out, in) tensor on the layer's device, for reading (merging, DoRA's norms): the
     * stored tensor itself, or a copy in the current scope when it is stored transposed (Conv1D), in another dtype
     * or quantized. Never write through it.
     *
     * @return the weight (out, in)
     */
    Tensor weightTensor();

    /**
     * Replaces the weight by a new tensor, on the layer's device, holding {@code weight} in the stored weight's dtype
     * and layout (rounded to bf16/f16, requantized to NF4, transposed for Conv1D); the stored weight is never written
     * (it may be a read-only mapped file).
     *
     * @param weight the new values, a float32 (out, in) tensor on the layer's device
     */
    void setWeight(Tensor weight);

    /**
     * Puts back, bit for bit, the weight tensor that the first {@link #setWeight} since the last restore replaced,
     * and frees the replacement.
     *
     * @return false when the weight was not replaced
     */
    boolean restoreWeight();

    /**
     * The bias (out), or null.
     *
     * @return the bias, or null
     */
    Tensor bias();

    /**
     * The weight itself as an (out, in) tensor when the layer stores it that way (an nn.Linear, in any dtype the
     * products read: F32, BF16, F16 or NF4), else null (Conv1D layout). Adapters use it to fuse their update with the
     * base product.
     *
     * @return the weight tensor, or null
     */
    default Tensor denseWeightOutIn() {
        return null;
    }

    /**
     * The linear view of {@code module}: itself when it implements this interface, a view of a {@link Linear}.
     *
     * @param module the module to view, e.g. a target of an adapter
     * @param path its dotted path, for the message when it is not linear
     * @return the linear view
     * @throws PeftException for any other module type
     */
    static BaseLinear of(Module module, String path) {
        if (module instanceof BaseLinear b) {
            return b;
        }
        if (module instanceof Linear l) {
            return new DenseLinear(l);
        }
        throw new PeftException("module '" + path + "' is a " + module.getClass().getSimpleName()
                + ", not a linear layer; adapters wrap Linear (and GPT-2 Conv1D) layers: target their projections instead");
    }
}
