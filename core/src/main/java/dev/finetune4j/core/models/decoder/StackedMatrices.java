package dev.finetune4j.core.models.decoder;

/**
 * A module whose parameters include experts' matrices stacked into one 3-D tensor (gpt-oss's {@link GptOssExperts},
 * Granite's {@link StackedLinear}): the matrices that NF4 loading and QLoRA store in NF4 as they would a linear
 * layer's weight, each expert's slice dequantized when its tokens are multiplied.
 */
public interface StackedMatrices {

    /**
     * Whether this module's parameter {@code name} is a stacked matrix (not a bias).
     *
     * @param name a parameter's name in this module
     * @return true for the matrices NF4 holds
     */
    boolean isMatrix(String name);
}
