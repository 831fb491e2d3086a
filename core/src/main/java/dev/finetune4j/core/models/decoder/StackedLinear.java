package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.List;

/**
 * One linear layer per expert, their (out, in) weights stacked into {@code weight} (E, out, in) without biases, as
 * Granite's mixtures store them ({@code block_sparse_moe.input_linear}, {@code output_linear}): expert e multiplies
 * its tokens by {@code W[e]^T}. Under QLoRA the stack is one NF4 tensor, each expert's slice dequantized when its
 * tokens are multiplied.
 */
public final class StackedLinear extends Module implements StackedMatrices {
    private final int outFeatures;
    private final int inFeatures;

    /**
     * The stacked weights, zero until loaded.
     *
     * @param scope owns the weights
     * @param experts E
     * @param inFeatures each layer's input width
     * @param outFeatures each layer's output width
     */
    StackedLinear(TensorScope scope, int experts, int inFeatures, int outFeatures) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(experts, outFeatures, inFeatures)));
    }

    /**
     * Expert {@code expert}'s layer over its tokens.
     *
     * @param expert the expert's index
     * @param x the tokens, (N, in)
     * @return {@code x W[expert]^T}, (N, out)
     */
    Tensor project(int expert, Tensor x) {
        Tensor w = parameter("weight");
        if (w.dtype() == DType.NF4) {
            return Matmul.matmulNf4Slice(x, w, (long) expert * outFeatures * inFeatures, outFeatures, inFeatures, true);
        }
        return Matmul.linear(x, w.slice(0, expert, expert + 1).reshape(outFeatures, inFeatures), null);
    }

    @Override
    public List<String> matrixNames() {
        return List.of("weight");
    }
}
