package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.LinearAttention;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * A recurrent layer's {@code conv1d}: one filter of width K per channel over time, causal, with or without a bias
 * (Mamba-2's has one, the gated DeltaNet's none), followed by SiLU (LFM2's {@code conv}: without). Its {@code weight}
 * has PyTorch's depthwise {@code Conv1d} shape (C, 1, K).
 */
final class CausalConv1d extends Module {
    private final int channels;
    private final int kernel;
    private final boolean hasBias;
    private final boolean silu;

    CausalConv1d(TensorScope scope, int channels, int kernel, boolean bias, boolean silu) {
        this.channels = channels;
        this.kernel = kernel;
        this.hasBias = bias;
        this.silu = silu;
        registerParameter("weight", Tensor.zeros(scope, DType.F32, Shape.of(channels, 1, kernel)));
        if (bias) {
            registerParameter("bias", Tensor.zeros(scope, DType.F32, Shape.of(channels)));
        }
    }

    /** The filter width K: a generation keeps the last K - 1 inputs. */
    int kernel() {
        return kernel;
    }

    /** The channels C. */
    int channels() {
        return channels;
    }

    /**
     * silu(conv(x) + bias), or conv(x) + bias, over (B, T, C), reading {@code past}'s K - 1 inputs (or zeros) before the first token, and
     * zeros before each packed example's first; a generation's {@code past} then moves on to the last K - 1 inputs
     * of {@code past} followed by {@code x}.
     *
     * @param x the inputs, (B, T, C)
     * @param past the inputs before {@code x}, (B, K - 1, C) F32, or null
     * @param offsets each token's position within its packed example, (B, T), or null
     * @return the outputs, (B, T, C)
     */
    Tensor forward(Tensor x, Tensor past, Tensor offsets) {
        Tensor bias = hasBias ? parameter("bias") : null;
        Tensor y = LinearAttention.causalConv1d(x, parameter("weight").reshape(channels, kernel), bias, past,
                offsets, silu);
        if (past != null && kernel > 1) {
            try (var ng = Autograd.noGrad()) {
                Tensor all = Concat.cat(1, past, x.detach().to(DType.F32));
                Tensor last = all.slice(1, all.dim(1) - (kernel - 1), all.dim(1)).contiguous();
                past.backend().copy().copy(last, past);
            }
        }
        return y;
    }
}
