package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * What the recurrent token mixers (Qwen3.5's {@link GatedDeltaNet}, Granite 4.0 H's {@link Mamba2Mixer}) share: where
 * packed examples start, the zeroing of padded tokens, and a generation's state in the {@link KvCache}.
 */
final class RecurrentLayers {
    private RecurrentLayers() {
    }

    /**
     * The (B, T) F32 positions of each token within its packed example, where the recurrent layers restart their
     * convolution and state: null when the pass is not packed. Made once per pass, for every such layer.
     *
     * @param ctx the pass's context
     * @param x the layers' input, (B, T, C), for its device
     * @return the offsets, or null
     */
    static Tensor segmentOffsets(ForwardContext ctx, Tensor x) {
        int[][] segments = ctx.mask().segments();
        if (segments == null) {
            return null;
        }
        if (ctx.cache() != null) {
            throw new IllegalArgumentException("packed sequences cannot pass recurrent layers with a cache: a "
                    + "generation's state belongs to one sequence; generate each sequence in its own row");
        }
        int b = x.dim(0);
        int t = x.dim(1);
        float[] offsets = new float[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 1; j < t; j++) {
                offsets[i * t + j] = segments[i][j] == segments[i][j - 1] ? offsets[i * t + j - 1] + 1 : 0;
            }
        }
        return Tensor.of(x.device(), TensorScope.current(), offsets, Shape.of(b, t));
    }

    /**
     * The (B, T, 1) factors that zero the padded new tokens of a pass before the recurrent layers, as transformers
     * zeroes them when a pass of several tokens holds padding (a left-padded prompt then leaves the state at zero
     * until its first real token); null when there is none. Made once per pass, for every such layer.
     *
     * @param ctx the pass's context
     * @param x the layers' input, (B, T, C), for its device
     * @return the factors, or null
     */
    static Tensor paddingKeep(ForwardContext ctx, Tensor x) {
        boolean[][] valid = ctx.mask().keyValid();
        int t = x.dim(1);
        if (valid == null || t == 1) {
            return null;
        }
        int b = x.dim(0);
        float[] keep = new float[b * t];
        boolean padded = false;
        for (int i = 0; i < b; i++) {
            int first = valid[i].length - t; // the new tokens are the last T of the S key positions
            for (int j = 0; j < t; j++) {
                keep[i * t + j] = valid[i][first + j] ? 1f : 0f;
                padded |= !valid[i][first + j];
            }
        }
        return padded ? Tensor.of(x.device(), TensorScope.current(), keep, Shape.of(b, t, 1)) : null;
    }

    /**
     * A generation's state of layer {@code layer}: {convolution's past inputs (B, K - 1, channels), recurrence state
     * (B, heads, Dk, Dv)}, zeros on its first pass (made in the scope current now, the cache's); null without a
     * cache (training, or a pass that keeps nothing).
     *
     * @param cache the pass's cache, or null
     * @param layer the layer's index
     * @param like the layer's input, (B, T, C), for the batch size and the device
     * @param conv the layer's convolution
     * @param heads the recurrence's heads
     * @param keyDim the state's rows per head
     * @param valueDim the state's columns per head
     * @return the state, or null
     */
    static Tensor[] state(KvCache cache, int layer, Tensor like, CausalConv1d conv, int heads, int keyDim, int valueDim) {
        if (cache == null) {
            return null;
        }
        Tensor[] state = cache.recurrentState(layer);
        return state != null ? state : new Tensor[]{convPast(like, conv),
                Tensor.zeros(TensorScope.current(), like.device(), DType.F32, Shape.of(like.dim(0), heads, keyDim, valueDim))};
    }

    /**
     * The state a generation carries through a layer whose only memory is its convolution (LFM2's {@code conv}):
     * {convolution's past inputs (B, K - 1, C)}, the cache's or, at its first pass, zeros.
     *
     * @param cache the generation's cache, or null outside a generation
     * @param layer the layer's index
     * @param like the layer's input, for the batch size and the device
     * @param conv the layer's convolution
     * @return the state, or null without a cache
     */
    static Tensor[] convState(KvCache cache, int layer, Tensor like, CausalConv1d conv) {
        if (cache == null) {
            return null;
        }
        Tensor[] state = cache.recurrentState(layer);
        return state != null ? state : new Tensor[]{convPast(like, conv)};
    }

    /** Zeros for the K - 1 inputs before a sequence's first, (B, K - 1, C) F32. */
    private static Tensor convPast(Tensor like, CausalConv1d conv) {
        return Tensor.zeros(TensorScope.current(), like.device(), DType.F32,
                Shape.of(like.dim(0), conv.kernel() - 1, conv.channels()));
    }

    /**
     * (B, T, G, D) -> (B, T, H, D), each of the G groups repeated for the H / G consecutive heads it serves (PyTorch's
     * {@code repeat_interleave} over the group axis).
     *
     * @param x the groups' values
     * @param heads H, a multiple of G
     * @return the heads' values, a view when G = H
     */
    static Tensor perHead(Tensor x, int heads) {
        int groups = x.dim(2);
        if (groups == heads) {
            return x;
        }
        int b = x.dim(0);
        int t = x.dim(1);
        int d = x.dim(3);
        return x.reshape(b, t, groups, 1, d).expand(Shape.of(b, t, groups, heads / groups, d)).reshape(b, t, heads, d);
    }
}
