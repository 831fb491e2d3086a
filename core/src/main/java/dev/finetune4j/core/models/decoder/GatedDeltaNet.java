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
 * Qwen3.5's and Qwen3-Next's linear attention ({@code linear_attn}), a gated DeltaNet (Yang, Kautz and Hatamizadeh
 * 2024): the input projected to queries, keys and values ({@code in_proj_qkv}), an output gate ({@code in_proj_z}),
 * write strengths ({@code in_proj_b}) and time steps ({@code in_proj_a}) (Qwen3-Next: the four fused into
 * {@code in_proj_qkvz} and {@code in_proj_ba}); a short causal convolution with SiLU over the queries, keys
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
        if (config.fusedProjections()) {
            registerChild("in_proj_qkvz", new Linear(scope, hidden, config.convDim() + config.valueDim(), false));
            registerChild("in_proj_ba", new Linear(scope, hidden, 2 * config.numValueHeads(), false));
        } else {
            registerChild("in_proj_qkv", new Linear(scope, hidden, config.convDim(), false));
            registerChild("in_proj_z", new Linear(scope, hidden, config.valueDim(), false));
            registerChild("in_proj_b", new Linear(scope, hidden, config.numValueHeads(), false));
            registerChild("in_proj_a", new Linear(scope, hidden, config.numValueHeads(), false));
        }
        registerChild("conv1d", new CausalConv1d(scope, config.convDim(), config.convKernel(), false, true));
        registerParameter("A_log", Tensor.zeros(scope, DType.F32, Shape.of(config.numValueHeads())));
        registerParameter("dt_bias", Tensor.zeros(scope, DType.F32, Shape.of(config.numValueHeads())));
        registerChild("norm", new RmsNorm(scope, config.valueHeadDim(), c.normEps()));
        registerChild("out_proj", new Linear(scope, config.valueDim(), hidden, false));
    }

    /** x: (B, T, C) -> (B, T, C). */
    @Override
    public Tensor forward(Tensor x, ForwardContext ctx) {
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numValueHeads();
        Tensor in = ctx.paddingKeep() == null ? x : Elementwise.mul(x, ctx.paddingKeep());
        Inputs inputs = config.fusedProjections() ? fusedInputs(in, b, t) : inputs(in, b, t);
        Tensor qkv = inputs.qkv();
        KvCache cache = ctx.cache();
        CausalConv1d conv = (CausalConv1d) child("conv1d");
        Tensor[] state = RecurrentLayers.state(cache, layerIndex, x, conv, heads, config.keyHeadDim(),
                config.valueHeadDim());
        Tensor mixed = conv.forward(qkv, state == null ? null : state[0], ctx.segmentOffsets());
        int kd = config.keyDim();
        Tensor q = RecurrentLayers.perHead(l2Normalised(mixed.slice(2, 0, kd)
                .reshape(b, t, config.numKeyHeads(), config.keyHeadDim())), heads);
        q = Elementwise.scale(q, (float) (1 / Math.sqrt(config.keyHeadDim())));
        Tensor k = RecurrentLayers.perHead(l2Normalised(mixed.slice(2, kd, 2 * kd)
                .reshape(b, t, config.numKeyHeads(), config.keyHeadDim())), heads);
        Tensor v = mixed.slice(2, 2 * kd, config.convDim()).reshape(b, t, heads, config.valueHeadDim());
        Tensor beta = Activations.apply(Activations.Kind.SIGMOID, inputs.b());
        Tensor a = inputs.a();
        Tensor g;
        // g = -exp(A_log) softplus(a + dt_bias), each head's log decay per token, in float32 under any precision, as
        // transformers computes it: a decay rounded to bf16 would compound over the tokens
        try (var f32 = Precision.F32.use()) {
            Tensor step = Activations.apply(Activations.Kind.SOFTPLUS, Elementwise.add(a, parameter("dt_bias")));
            g = Elementwise.mul(step, Elementwise.scale(Elementwise.exp(parameter("A_log")), -1f));
        }
        Tensor o = LinearAttention.gatedRule(StateUpdate.DELTA, q, k, v, g, beta, state == null ? null : state[1],
                ctx.segmentOffsets());
        if (cache != null) {
            cache.advanceRecurrent(layerIndex, state, t);
        }
        Tensor gated = Elementwise.mul(layer("norm").forward(o), Activations.apply(Activations.Kind.SILU, inputs.z()));
        return layer("out_proj").forward(gated.reshape(b, t, config.valueDim()));
    }

    /**
     * The layer's inputs from its projections: the convolution's channels (B, T, 2 Dk + Dv; queries, keys, values), the
     * output gate (B, T, Hv, dv), the write strengths' and the time steps' logits (B, T, Hv).
     */
    private record Inputs(Tensor qkv, Tensor z, Tensor b, Tensor a) {
    }

    /** Qwen3.5's four projections. */
    private Inputs inputs(Tensor in, int b, int t) {
        return new Inputs(layer("in_proj_qkv").forward(in),
                layer("in_proj_z").forward(in).reshape(b, t, config.numValueHeads(), config.valueHeadDim()),
                layer("in_proj_b").forward(in), layer("in_proj_a").forward(in));
    }

    /**
     * Qwen3-Next's two, whose rows are grouped per key head: {@code in_proj_qkvz} holds for each key head its query,
     * its key, then the values and gates of its value heads; {@code in_proj_ba} the write strengths and then the time
     * steps of those value heads. Gathered into Qwen3.5's order (all queries, all keys, all values; each value head's
     * gate, strength and step in head order).
     */
    private Inputs fusedInputs(Tensor in, int b, int t) {
        int keyHeads = config.numKeyHeads();
        int valueHeads = config.numValueHeads();
        int dk = config.keyHeadDim();
        int group = valueHeads / keyHeads * config.valueHeadDim();
        Tensor qkvz = layer("in_proj_qkvz").forward(in).reshape(b, t, keyHeads, 2 * dk + 2 * group);
        Tensor qkv = Concat.cat(2, part(qkvz, 0, dk, b, t, config.keyDim()), part(qkvz, dk, 2 * dk, b, t, config.keyDim()),
                part(qkvz, 2 * dk, 2 * dk + group, b, t, config.valueDim()));
        Tensor z = part(qkvz, 2 * dk + group, 2 * dk + 2 * group, b, t, config.valueDim())
                .reshape(b, t, valueHeads, config.valueHeadDim());
        int perKeyHead = valueHeads / keyHeads;
        Tensor ba = layer("in_proj_ba").forward(in).reshape(b, t, keyHeads, 2 * perKeyHead);
        return new Inputs(qkv, z, part(ba, 0, perKeyHead, b, t, valueHeads),
                part(ba, perKeyHead, 2 * perKeyHead, b, t, valueHeads));
    }

    /** Columns {@code [from, to)} of every key head's block, (B, T, K, block), as (B, T, width). */
    private static Tensor part(Tensor perKeyHead, int from, int to, int b, int t, int width) {
        return perKeyHead.slice(3, from, to).contiguous().reshape(b, t, width);
    }

    /** x / sqrt(sum(x^2) + 1e-6) over the last dimension. */
    private static Tensor l2Normalised(Tensor x) {
        Tensor squares = Reductions.sum(Elementwise.mul(x, x), x.rank() - 1, true);
        return Elementwise.div(x, Elementwise.sqrt(Elementwise.addScalar(squares, L2_EPS)));
    }
}
