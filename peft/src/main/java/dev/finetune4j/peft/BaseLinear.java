package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;

/**
 * The frozen linear layer under an adapter: a dense {@link Linear} (either weight layout) or an NF4-quantized
 * one. Merging and DoRA see its weight as a dense (out, in) matrix whatever the storage.
 *
 * <p>Thread safety: reads are safe concurrently; {@link #setWeightOutIn} is not.
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
     * Replaces the weight from a dense (out, in) row-major matrix (requantizing where the storage is quantized).
     *
     * @param weight {@code out * in} values, row-major
     */
    void setWeightOutIn(float[] weight);

    /**
     * The bias (out), or null.
     *
     * @return the bias, or null
     */
    Tensor bias();

    /**
     * The weight itself as a float32 (out, in) tensor when the layer stores it that way (a dense nn.Linear),
     * else null (Conv1D layout, quantized storage). Adapters use it to fuse their update with the base product.
     *
     * @return the weight tensor, or null
     */
    default Tensor denseWeightOutIn() {
        return null;
    }

    /**
     * Parameters this layer stores quantized outside its parameter tree (NF4 codes), which parameter counts
     * add to the tree's; 0 for dense storage.
     *
     * @return the number of quantized weight values
     */
    default long quantizedParameters() {
        return 0;
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
