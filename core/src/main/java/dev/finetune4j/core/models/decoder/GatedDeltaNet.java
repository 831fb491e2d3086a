package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.LinearAttention;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.backend.RecurrentKernels.StateUpdate;
import dev.finetune4j.core.nn.Block;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Qwen3.5's linear attention ({@code linear_attn}), a gated DeltaNet (Yang, Kautz and Hatamizadeh 2024): the input
 * projected to queries, keys and values ({@code in_proj_qkv}), an output gate ({@code in_proj_z}), write strengths
 * ({@code in_proj_b}) and time steps ({@code in_proj_a}); a short causal convolution with SiLU over the queries, keys
 * and values; queries and keys L2-normalised (queries also scaled by {@code 1 / sqrt(Dk)}) and repeated from their
 * key heads to the value heads; the gated delta rule with decay {@code exp(-exp(A_log) softplus(a + dt_bias))} and
 * strength {@code sigmoid(b)}; each head's output RMS-normalised ({@code norm}) times {@code silu(z)}; and
 * {@code out_proj}. A generation's {@link KvCache} carries the convolution's last inputs and the rule's state.
 */
final class GatedDeltaNet extends Module implements Block {
    /** transformers' epsilon inside the L2 norm of queries and keys. */
    private static final float L2_EPS = 1e-6f;

    private final LinearAttentionConfig config;
    private final int layerIndex;

    /**
     * The layer's projections, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the model's configuration
     * @param layerIndex the layer's index, which selects its state in a generation's cache
     */
    GatedDeltaNet(TensorScope scope, DecoderConfig c, int layerIndex) {
        this.config = c.linearAttention();
        this.layerIndex = layerIndex;
        int hidden = c.hiddenSize();
        registerChild("in_proj_qkv", new Linear(scope, hidden, config.convDim(), false));
        registerChild("in_proj_z", new Linear(scope, hidden, config.valueDim(), false));
        registerChild("in_proj_b", new Linear(scope, hidden, config.numValueHeads(), false));
        registerChild("in_proj_a", new Linear(scope, hidden, config.numValueHeads(), false));
        registerChild("conv1d", new CausalConv1d(scope, config.convDim(), config.convKernel()));
        registerParameter("A_log", Tensor.zeros(scope, DType.F32, Shape.of(config.numValueHeads())));
        registerParameter("dt_bias", Tensor.zeros(scope, DType.F32, Shape.of(config.numValueHeads())));
        registerChild("norm", new RmsNorm(scope, config.valueHeadDim(), c.rmsNormEps()));
        registerChild("out_proj", new Linear(scope, config.valueDim(), hidden, false));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        if (ctx.mask().segments() != null) {
            throw new IllegalArgumentException("packed sequences cannot pass a linear-attention layer (layer " + layerIndex
                    + "): its recurrent state would carry one example into the next; train Qwen3.5 without packing");
        }
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numValueHeads();
        Tensor in = ctx.paddingKeep() == null ? x : Elementwise.mul(x, ctx.paddingKeep());
        Tensor qkv = layer("in_proj_qkv").forward(in);
        KvCache cache = ctx.cache();
        Tensor[] state = cache == null ? null : cache.recurrentState(layerIndex);
        if (cache != null && state == null) {
            state = newState(b, x);
        }
        CausalConv1d conv = (CausalConv1d) child("conv1d");
        Tensor mixed = conv.forward(qkv, state == null ? null : state[0]);
        if (state != null) {
            keepLastInputs(state[0], qkv, conv.kernel());
        }
        int kd = config.keyDim();
        Tensor q = perValueHead(l2Normalised(mixed.slice(2, 0, kd).reshape(b, t, config.numKeyHeads(), config.keyHeadDim())));
        q = Elementwise.scale(q, (float) (1 / Math.sqrt(config.keyHeadDim())));
        Tensor k = perValueHead(l2Normalised(mixed.slice(2, kd, 2 * kd).reshape(b, t, config.numKeyHeads(), config.keyHeadDim())));
        Tensor v = mixed.slice(2, 2 * kd, config.convDim()).reshape(b, t, heads, config.valueHeadDim());
        Tensor beta = Activations.apply(Activations.Kind.SIGMOID, layer("in_proj_b").forward(in));
        Tensor a = layer("in_proj_a").forward(in);
        Tensor g;
        // g = -exp(A_log) softplus(a + dt_bias), each head's log decay per token, in float32 under any precision, as
        // transformers computes it: a decay rounded to bf16 would compound over the tokens
        try (var f32 = Precision.F32.use()) {
            Tensor step = Activations.apply(Activations.Kind.SOFTPLUS, Elementwise.add(a, parameter("dt_bias")));
            g = Elementwise.mul(step, Elementwise.scale(Elementwise.exp(parameter("A_log")), -1f));
        }
        Tensor o = LinearAttention.gatedRule(StateUpdate.DELTA, q, k, v, g, beta, state == null ? null : state[1]);
        if (cache != null) {
            cache.advanceRecurrent(layerIndex, state, t);
        }
        Tensor z = layer("in_proj_z").forward(in).reshape(b, t, heads, config.valueHeadDim());
        Tensor gated = Elementwise.mul(layer("norm").forward(o), Activations.apply(Activations.Kind.SILU, z));
        return layer("out_proj").forward(gated.reshape(b, t, config.valueDim()));
    }

    /**
     * The (B, T, 1) factors that zero the padded new tokens of a pass before the linear-attention layers, as
     * transformers zeroes them when a pass of several tokens holds padding (a left-padded prompt then leaves the state
     * at zero until its first real token); null when there is none. Made once per pass, for every such layer.
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

    /** x / sqrt(sum(x^2) + 1e-6) over the last dimension. */
    private static Tensor l2Normalised(Tensor x) {
        Tensor squares = Reductions.sum(Elementwise.mul(x, x), x.rank() - 1, true);
        return Elementwise.div(x, Elementwise.sqrt(Elementwise.addScalar(squares, L2_EPS)));
    }

    /** (B, T, Hk, D) -> (B, T, Hv, D), each key head repeated for the value heads of its group (repeat_interleave). */
    private Tensor perValueHead(Tensor x) {
        int group = config.numValueHeads() / config.numKeyHeads();
        if (group == 1) {
            return x;
        }
        int b = x.dim(0);
        int t = x.dim(1);
        int d = x.dim(3);
        return x.reshape(b, t, config.numKeyHeads(), 1, d).expand(Shape.of(b, t, config.numKeyHeads(), group, d))
                .reshape(b, t, config.numValueHeads(), d);
    }

    /** A generation's first pass: zero past inputs and a zero state, in the scope current now (the cache's). */
    private Tensor[] newState(int b, Tensor like) {
        TensorScope scope = TensorScope.current();
        return new Tensor[]{
                Tensor.zeros(scope, like.device(), DType.F32, Shape.of(b, config.convKernel() - 1, config.convDim())),
                Tensor.zeros(scope, like.device(), DType.F32,
                        Shape.of(b, config.numValueHeads(), config.keyHeadDim(), config.valueHeadDim()))};
    }

    /** Replaces {@code past} (B, K - 1, C) by the last K - 1 inputs of past followed by {@code x} (B, T, C). */
    private static void keepLastInputs(Tensor past, Tensor x, int kernel) {
        int keep = kernel - 1;
        if (keep == 0) {
            return;
        }
        try (var ng = Autograd.noGrad()) {
            Tensor all = Concat.cat(1, past, x.detach().to(DType.F32));
            Tensor last = all.slice(1, all.dim(1) - keep, all.dim(1)).contiguous();
            past.backend().copy().copy(last, past);
        }
    }
}
