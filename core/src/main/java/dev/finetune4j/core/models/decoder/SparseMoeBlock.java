package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.IndexSelect;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.autograd.Softmax;
import dev.finetune4j.core.models.RouterLoadBalance;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.ModuleList;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * A sparse mixture of experts in place of a decoder layer's MLP (Mixtral, Qwen2-MoE, Qwen3-MoE, gpt-oss, Qwen3.5-MoE;
 * beside Granite 4.0 H's shared MLP), as
 * transformers computes it: the router scores each token against every expert, softmax in float32 gives the routing
 * probabilities, each token goes to its k most probable experts, and its output is the sum of their MLPs weighted
 * by those probabilities (renormalised to sum 1 where the family says so; gpt-oss's softmax over the k chosen logits is
 * that renormalisation). LFM2-MoE's router scores by sigmoids instead, picks by score plus its {@code expert_bias} and
 * scales the weights ({@link MoeConfig.SigmoidRouting}). Qwen2-MoE adds a shared expert that every token passes
 * through, scaled by {@code sigmoid(shared_expert_gate(x))}.
 *
 * <p>The choice of experts is made on the host from the probabilities (a GPU step reads them back once per sparse
 * layer): it decides how many tokens each expert multiplies, which sizes the products. The weights of the chosen
 * experts stay on the device and carry gradients to the router, as in transformers.
 *
 * <p>While a {@link RouterLoadBalance} is open on the thread, each pass of a softmax router records its probabilities
 * and picks there for the load-balancing loss (LFM2-MoE balances by its {@code expert_bias} instead).
 *
 * <p>Children, named as the checkpoint names them: the router {@code gate} (E, C) (gpt-oss: {@code router}, with a
 * bias; Granite: {@code router.layer}), {@code experts.N} ({@link DecoderMlp}s of {@code expertIntermediateSize};
 * gpt-oss: one {@link StackedExperts}, {@link GptOssExperts} or an adapter around it; Granite: {@code input_linear}
 * (E, 2I, C), gate then up rows, and {@code output_linear} (E, C, I), {@link StackedLinear}s), and Qwen2-MoE's
 * {@code shared_expert} and {@code shared_expert_gate} (1, C).
 */
public final class SparseMoeBlock extends Module implements Layer {
    /** Granite's stacked gate and up projections, and its stacked down projections. */
    static final String GRANITE_INPUT = "input_linear";
    static final String GRANITE_OUTPUT = "output_linear";
    /** LFM2-MoE's selection bias, a buffer of the checkpoint: it picks experts and weighs none. */
    static final String EXPERT_BIAS = "expert_bias";

    private final MoeConfig moe;
    private final Activations.Kind act;
    /** Whether the experts are picked by their scores plus {@link #EXPERT_BIAS}. */
    private final boolean expertBias;

    /**
     * The block of one sparse layer, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration, whose {@link DecoderConfig#moe()} is set
     */
    public SparseMoeBlock(TensorScope scope, DecoderConfig c) {
        this.moe = c.moe();
        this.act = c.hiddenAct();
        Linear router = new Linear(scope, c.hiddenSize(), moe.numExperts(), moe.naming().routerBias());
        boolean granite = moe.naming() == MoeConfig.Naming.GRANITE;
        registerChild(moe.naming().router(), granite ? new NestedRouter(router) : router);
        if (granite) {
            int width = moe.expertIntermediateSize();
            registerChild(GRANITE_INPUT, new StackedLinear(scope, moe.numExperts(), c.hiddenSize(), 2 * width));
            registerChild(GRANITE_OUTPUT, new StackedLinear(scope, moe.numExperts(), width, c.hiddenSize()));
        } else if (moe.naming().stacked()) {
            registerChild("experts", new GptOssExperts(scope, c.hiddenSize(), moe));
        } else {
            List<DecoderMlp> experts = new ArrayList<>();
            for (int e = 0; e < moe.numExperts(); e++) {
                experts.add(new DecoderMlp(scope, c, moe.expertIntermediateSize(), moe.naming().expert()));
            }
            registerChild("experts", new ModuleList<>(experts));
        }
        this.expertBias = moe.sigmoidRouting() != null && moe.sigmoidRouting().expertBias();
        if (expertBias) {
            registerParameter(EXPERT_BIAS, Tensor.zeros(scope, DType.F32, Shape.of(moe.numExperts())));
        }
        if (moe.sharedExpertIntermediateSize() > 0) {
            registerChild("shared_expert", new DecoderMlp(scope, c, moe.sharedExpertIntermediateSize(), MlpNames.STANDARD));
            registerChild("shared_expert_gate", new Linear(scope, c.hiddenSize(), 1, false));
        }
    }

    /**
     * Whether the linear layer at {@code path} is a mixture's router ({@code gate}, gpt-oss's {@code mlp.router},
     * Granite's {@code router.layer}) or
     * Qwen2-MoE's shared expert's gate ({@code shared_expert_gate}): layers that NF4 quantization leaves as stored,
     * since 4-bit error in their scores would change which experts a token meets. No dense MLP names a projection
     * {@code gate} or {@code router}.
     *
     * @param path the layer's dotted path, e.g. {@code model.layers.0.block_sparse_moe.gate}
     * @return true for a router
     */
    public static boolean isRouter(String path) {
        return path.endsWith(".gate") || path.endsWith(".shared_expert_gate") || path.endsWith(".mlp.router")
                || isGraniteRouter(path);
    }

    /**
     * Whether the linear layer at {@code path} is Granite's router ({@code block_sparse_moe.router.layer}), which
     * transformers holds as a bare weight ({@code GraniteMoeHybridTopKRouter.weight}), not as a linear layer that
     * PEFT's {@code target_modules} could adapt.
     *
     * @param path the layer's dotted path
     * @return true for Granite's router
     */
    public static boolean isGraniteRouter(String path) {
        return path.endsWith(".router.layer");
    }

    /** x: (..., C) -> (..., C). */
    @Override
    public Tensor forward(Tensor x) {
        int c = x.dim(-1);
        int tokens = Math.toIntExact(x.numel() / c);
        int k = moe.numExpertsPerTok();
        Tensor flat = x.reshape(tokens, c);
        MoeConfig.SigmoidRouting sigmoid = moe.sigmoidRouting();
        Tensor logits = layer(moe.naming().router()).forward(flat);
        Tensor probabilities = sigmoid == null ? Softmax.softmax(logits) : sigmoidScores(logits); // (N, E), float32
        // NOTE: a host read: the chosen experts decide the sizes of the products below
        float[] onHost = selectionScores(probabilities).toFloatArray();
        ExpertRouting routing = ExpertRouting.topK(onHost, moe.numExperts(), k);
        RouterLoadBalance balance = RouterLoadBalance.current();
        if (balance != null && sigmoid == null) {
            balance.add(probabilities, onHost, routing.chosen(), moe.numExperts());
        }
        Tensor weights = IndexSelect.rows(probabilities.reshape(tokens * moe.numExperts(), 1), routing.chosen())
                .reshape(tokens, k);
        if (moe.normTopkProb()) {
            Tensor sum = Reductions.sum(weights, 1, true);
            weights = Elementwise.div(weights, sigmoid == null ? sum : Elementwise.addScalar(sum, sigmoid.normEpsilon()));
        }
        if (sigmoid != null && sigmoid.scalingFactor() != 1f) {
            weights = Elementwise.scale(weights, sigmoid.scalingFactor());
        }
        Tensor results = expertResults(IndexSelect.rows(flat, routing.tokensByExpert()), routing.expertStarts());
        Tensor perSlot = IndexSelect.rows(results, routing.resultRows()).reshape(tokens, k, c);
        SpentActivations.free(results, perSlot);
        Tensor weighted = Elementwise.mul(perSlot, weights.reshape(tokens, k, 1));
        Tensor mixed = Reductions.sum(weighted, 1, false);
        SpentActivations.free(weighted, mixed); // (N * k, C) each: the backward of the sum reads no input
        if (moe.sharedExpertIntermediateSize() > 0) {
            Tensor share = Activations.apply(Activations.Kind.SIGMOID, layer("shared_expert_gate").forward(flat));
            mixed = Elementwise.add(mixed, Elementwise.mul(layer("shared_expert").forward(flat), share));
        }
        return mixed.reshape(x.shape().dims());
    }

    /** LFM2-MoE's scores, the sigmoids of the router's logits in float32 under any precision, as transformers's. */
    private static Tensor sigmoidScores(Tensor logits) {
        try (var f32 = Precision.F32.use()) {
            return Activations.apply(Activations.Kind.SIGMOID, logits.to(DType.F32));
        }
    }

    /**
     * The scores experts are picked by: the router's, plus LFM2-MoE's {@code expert_bias} where it has one, added on
     * the scores' device so that the pick still reads one tensor back.
     */
    private Tensor selectionScores(Tensor scores) {
        if (!expertBias) {
            return scores;
        }
        try (var ng = Autograd.noGrad()) {
            return Elementwise.add(scores, parameter(EXPERT_BIAS));
        }
    }

    /**
     * Each expert's MLP over its group of the grouped tokens, concatenated in the same order: (N * k, C), a copy that
     * no backward reads.
     */
    private Tensor expertResults(Tensor grouped, int[] starts) {
        List<Tensor> parts = new ArrayList<>();
        for (int e = 0; e < moe.numExperts(); e++) {
            if (starts[e + 1] > starts[e]) {
                parts.add(expert(e, grouped.slice(0, starts[e], starts[e + 1])));
            }
        }
        return Concat.cat(0, parts.toArray(Tensor[]::new));
    }

    /** Expert {@code e}'s MLP over its tokens (N, C). */
    private Tensor expert(int e, Tensor tokens) {
        if (moe.naming() == MoeConfig.Naming.GRANITE) {
            int width = moe.expertIntermediateSize();
            Tensor gateUp = ((StackedLinear) child(GRANITE_INPUT)).project(e, tokens);
            Tensor gate = gateUp.slice(-1, 0, width);
            Tensor up = gateUp.slice(-1, width, 2 * width);
            Tensor h = act == Activations.Kind.SILU ? Activations.swiglu(gate, up)
                    : Elementwise.mul(Activations.apply(act, gate), up);
            return ((StackedLinear) child(GRANITE_OUTPUT)).project(e, h);
        }
        if (child("experts") instanceof StackedExperts stacked) {
            return stacked.experts().mlp(stacked, e, tokens);
        }
        @SuppressWarnings("unchecked")
        ModuleList<DecoderMlp> experts = (ModuleList<DecoderMlp>) child("experts");
        return experts.get(e).forward(tokens);
    }
}
