package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.LinearAttention;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * A gated DeltaNet's {@code conv1d}: one filter of width K per channel over time, causal, without bias, followed by
 * SiLU. Its {@code weight} has PyTorch's depthwise {@code Conv1d} shape (C, 1, K).
 */
final class CausalConv1d extends Module {
    private final int channels;
    private final int kernel;

    CausalConv1d(TensorScope scope, int channels, int kernel) {
        this.channels = channels;
        this.kernel = kernel;
        registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(channels, 1, kernel)));
    }

    /** The filter width K: a generation keeps the last K - 1 inputs. */
    int kernel() {
        return kernel;
    }

    /**
     * silu(conv(x)) over (B, T, C), reading {@code past}'s K - 1 inputs (or zeros) before the first token.
     *
     * @param x the inputs, (B, T, C)
     * @param past the inputs before {@code x}, (B, K - 1, C), or null
     * @return the outputs, (B, T, C)
     */
    Tensor forward(Tensor x, Tensor past) {
        return LinearAttention.causalConv1dSilu(x, parameter("weight").reshape(channels, kernel), null, past);
    }
}
