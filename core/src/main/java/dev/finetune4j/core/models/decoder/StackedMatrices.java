package dev.finetune4j.core.models.decoder;

import java.util.List;

/**
 * A module whose parameters include experts' matrices stacked into one 3-D tensor (gpt-oss's {@link FusedExperts},
 * Granite's {@link StackedLinear}): the matrices that NF4 loading and QLoRA store in NF4 as they would a linear
 * layer's weight, each expert's slice dequantized when its tokens are multiplied.
 */
public interface StackedMatrices {

    /**
     * The names of this module's parameters that are stacked matrices (not biases).
     *
     * @return the matrices NF4 holds
     */
    List<String> matrixNames();

    /**
     * Whether this module's parameter {@code name} is a stacked matrix.
     *
     * @param name a parameter's name in this module
     * @return true for one of {@link #matrixNames()}
     */
    default boolean isMatrix(String name) {
        return matrixNames().contains(name);
    }
}
