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
import java.util.function.BiConsumer;

/**
 * A sparse mixture of experts in place of a decoder layer's MLP (Mixtral, Qwen2-MoE, Qwen3-MoE, gpt-oss, Qwen3.5-MoE,
 * LFM2-MoE, GLM-4.5, ERNIE-4.5-MoE, Nemotron-H; beside Granite 4.0 H's shared MLP), as
 * transformers computes it: the router scores each token against every expert, softmax in float32 gives the routing
 * probabilities, each token goes to its k most probable experts, and its output is the sum of their MLPs weighted
 * by those probabilities (renormalised to sum 1 where the family says so; gpt-oss's softmax over the k chosen logits is
 * that renormalisation). LFM2-MoE's and GLM-4.5's routers score by sigmoids instead; LFM2-MoE, GLM-4.5 and ERNIE pick
 * by score plus a bias of the checkpoint, GLM-4.5 within a token's best groups of experts
 * ({@link MoeConfig.Routing}). Qwen2-MoE adds a shared expert that every token passes through, scaled by
 * {@code sigmoid(shared_expert_gate(x))}; GLM-4.5's, ERNIE's and Nemotron-H's shared experts are added unscaled.
 * Nemotron-H's routes as GLM-4.5's to experts without a gate ({@code up_proj}, the squared ReLU, {@code down_proj}).
 * Gemma 4's runs beside its layer's dense MLP ({@link MoeConfig.Naming#besideMlp}): its {@link Gemma4Router} reads the
 * layer's residual stream while the experts read that stream's own norm ({@link #mix}), the renormalised weights are
 * multiplied by the router's {@code per_expert_scale}, and the router and experts are children of the layer, which
 * this block reads them from.
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
 * gpt-oss: one {@link StackedExperts}, {@link FusedExperts} or an adapter around it; Granite: {@code input_linear}
 * (E, 2I, C), gate then up rows, and {@code output_linear} (E, C, I), {@link StackedLinear}s), and Qwen2-MoE's
 * {@code shared_expert} and {@code shared_expert_gate} (1, C), GLM-4.5's and ERNIE's {@code shared_experts}; the
 * selection biases where {@link MoeConfig.SelectionBias} says. Gemma 4: {@code router} ({@link Gemma4Router}) and
 * {@code experts} ({@link FusedExperts}) on the layer.
 */
public final class SparseMoeBlock extends Module implements Layer {
    /** Granite's stacked gate and up projections, and its stacked down projections. */
    static final String GRANITE_INPUT = "input_linear";
    static final String GRANITE_OUTPUT = "output_linear";
    /** LFM2-MoE's selection bias, a buffer of the checkpoint: it picks experts and weighs none. */
    static final String EXPERT_BIAS = "expert_bias";
    /** Qwen2-MoE's gated shared expert and its gate; GLM-4.5's and ERNIE's ungated shared experts. */
    private static final String SHARED_EXPERT = "shared_expert";
    private static final String SHARED_EXPERT_GATE = "shared_expert_gate";
    private static final String SHARED_EXPERTS = "shared_experts";

    private final MoeConfig moe;
    private final Activations.Kind act;
    /** The router when it holds the selection bias, kept here because an adapter may wrap it in the module tree. */
    private final CorrectedRouter correctedRouter;
    /** Gemma 4's router, which holds {@code per_expert_scale}; null in the other families. */
    private final Gemma4Router gemma4Router;
    /** The module whose children the router and experts are: this block, or Gemma 4's layer. */
    private final Module holder;

    /**
     * The block of one sparse layer, zero until loaded.
     *
     * @param scope owns the weights
     * @param c the configuration, whose {@link DecoderConfig#moe()} is set
     */
    public SparseMoeBlock(TensorScope scope, DecoderConfig c) {
        this(scope, c, null, null);
    }

    /**
     * Gemma 4's mixture beside a layer's MLP: {@code register} adds the router and experts to the layer,
     * {@code layer}, where every forward looks them up (a PEFT method may have wrapped them there).
     *
     * @param scope owns the weights
     * @param c the configuration, whose {@link DecoderConfig#moe()} is set
     * @param layer the layer that holds the router and experts
     * @param register the layer's own registration of a child
     */
    SparseMoeBlock(TensorScope scope, DecoderConfig c, Module layer, BiConsumer<String, Module> register) {
        this.holder = layer == null ? this : layer;
        BiConsumer<String, Module> add = register == null ? this::registerChild : register;
        this.moe = c.moe();
        this.act = c.hiddenAct();
        MoeConfig.SelectionBias selectionBias = moe.routing().selectionBias();
        this.correctedRouter = selectionBias == MoeConfig.SelectionBias.ROUTER
                ? new CorrectedRouter(scope, c.hiddenSize(), moe.numExperts()) : null;
        this.gemma4Router = moe.naming() == MoeConfig.Naming.GEMMA4
                ? new Gemma4Router(scope, c.hiddenSize(), moe.numExperts(), c.normEps()) : null;
        Module router = gemma4Router != null ? gemma4Router : correctedRouter != null ? correctedRouter
                : new Linear(scope, c.hiddenSize(), moe.numExperts(), moe.naming().routerBias());
        boolean granite = moe.naming() == MoeConfig.Naming.GRANITE;
        add.accept(moe.naming().router(), granite ? new NestedRouter((Linear) router) : router);
        if (granite) {
            int width = moe.expertIntermediateSize();
            add.accept(GRANITE_INPUT, new StackedLinear(scope, moe.numExperts(), c.hiddenSize(), 2 * width));
            add.accept(GRANITE_OUTPUT, new StackedLinear(scope, moe.numExperts(), width, c.hiddenSize()));
        } else if (moe.naming().stacked()) {
            add.accept("experts", new FusedExperts(scope, c.hiddenSize(), moe, act));
        } else {
            List<DecoderMlp> experts = new ArrayList<>();
            for (int e = 0; e < moe.numExperts(); e++) {
                experts.add(new DecoderMlp(scope, c, moe.expertIntermediateSize(), moe.naming().expert(), false));
            }
            add.accept("experts", new ModuleList<>(experts));
        }
        switch (selectionBias) {
            case BLOCK -> registerParameter(EXPERT_BIAS, Tensor.zeros(scope, DType.F32, Shape.of(moe.numExperts())));
            case STATICS -> add.accept(MoeStatics.NAME, new MoeStatics(scope, moe.numExperts()));
            case ROUTER, NONE -> { }
        }
        int shared = moe.sharedExpertIntermediateSize();
        if (shared > 0 && moe.sharedExpertGated()) {
            add.accept(SHARED_EXPERT, new DecoderMlp(scope, c, shared, MlpNames.STANDARD, c.mlpBias()));
            add.accept(SHARED_EXPERT_GATE, new Linear(scope, c.hiddenSize(), 1, false));
        } else if (shared > 0) {
            // named as the routed experts (Nemotron-H's up_proj and down_proj without a gate)
            MlpNames names = moe.naming().stacked() ? MlpNames.STANDARD : moe.naming().expert();
            add.accept(SHARED_EXPERTS, new DecoderMlp(scope, c, shared, names, c.mlpBias()));
        }
    }

    /**
     * Whether the linear layer at {@code path} is a mixture's router ({@code gate}, gpt-oss's {@code mlp.router},
     * Granite's {@code router.layer}, Gemma 4's {@code router.proj}) or
     * Qwen2-MoE's shared expert's gate ({@code shared_expert_gate}): layers that NF4 quantization leaves as stored,
     * since 4-bit error in their scores would change which experts a token meets. No dense MLP names a projection
     * {@code gate} or {@code router}.
     *
     * @param path the layer's dotted path, e.g. {@code model.layers.0.block_sparse_moe.gate}
     * @return true for a router
     */
    public static boolean isRouter(String path) {
        return path.endsWith(".gate") || path.endsWith(".shared_expert_gate") || path.endsWith(".mlp.router")
                || path.endsWith(".router.proj") || isGraniteRouter(path);
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
        return mix(x, x);
    }

    /**
     * The mixture of {@code x} routed by the router's reading of {@code routed}: Gemma 4's router reads the layer's
     * residual stream, its experts that stream's norm. routed, x: (..., C) -> (..., C).
     *
     * @param routed what the router scores, the shape of {@code x}
     * @param x what the experts (and shared experts) transform
     * @return the mixture's output, the shape of {@code x}
     */
    Tensor mix(Tensor routed, Tensor x) {
        int c = x.dim(-1);
        int tokens = Math.toIntExact(x.numel() / c);
        int k = moe.numExpertsPerTok();
        int experts = moe.numExperts();
        MoeConfig.Routing rule = moe.routing();
        Tensor flat = x.reshape(tokens, c);
        Tensor scores = scores(routed).reshape(tokens, experts); // float32
        Tensor bias = selectionBias();
        // NOTE: a host read: the chosen experts decide the sizes of the products below
        float[] onHost = (bias == null ? scores : biased(scores, bias)).toFloatArray();
        ExpertRouting routing = ExpertRouting.topK(onHost, experts, k, rule.groups(), rule.groupsPerToken(),
                rule.groupScore());
        RouterLoadBalance balance = RouterLoadBalance.current();
        if (balance != null && !rule.sigmoid()) {
            // transformers' balancing loss picks by the probabilities alone, without a selection bias
            float[] probabilities = bias == null ? onHost : scores.toFloatArray();
            long[] picks = bias == null ? routing.chosen() : ExpertRouting.topK(probabilities, experts, k).chosen();
            balance.add(scores, probabilities, picks, experts);
        }
        Tensor weights = IndexSelect.rows(scores.reshape(tokens * experts, 1), routing.chosen()).reshape(tokens, k);
        if (moe.normTopkProb()) {
            Tensor sum = Reductions.sum(weights, 1, true);
            weights = Elementwise.div(weights, rule.normEpsilon() == 0f ? sum : Elementwise.addScalar(sum, rule.normEpsilon()));
        }
        if (rule.scalingFactor() != 1f) {
            weights = Elementwise.scale(weights, rule.scalingFactor());
        }
        if (gemma4Router != null) {
            weights = Elementwise.mul(weights, expertScales(routing.chosen(), experts).reshape(tokens, k));
        }
        int tokensPerRow = x.rank() < 2 ? tokens : tokens / x.dim(0);
        Tensor results = expertResults(IndexSelect.rows(flat, routing.tokensByExpert()), routing, tokensPerRow);
        Tensor perSlot = IndexSelect.rows(results, routing.resultRows()).reshape(tokens, k, c);
        SpentActivations.free(results, perSlot);
        Tensor weighted = Elementwise.mul(perSlot, weights.reshape(tokens, k, 1));
        Tensor mixed = Reductions.sum(weighted, 1, false);
        SpentActivations.free(weighted, mixed); // (N * k, C) each: the backward of the sum reads no input
        // the shared experts read the rows as they come, (B, T, C), as the router does: a served adapter on them
        // applies each row's own adapter
        mixed = mixed.reshape(x.shape().dims());
        if (moe.sharedExpertIntermediateSize() > 0 && moe.sharedExpertGated()) {
            Tensor share = Activations.apply(Activations.Kind.SIGMOID, holder.layer(SHARED_EXPERT_GATE).forward(x));
            mixed = Elementwise.add(mixed, Elementwise.mul(holder.layer(SHARED_EXPERT).forward(x), share));
        } else if (moe.sharedExpertIntermediateSize() > 0) {
            mixed = Elementwise.add(mixed, holder.layer(SHARED_EXPERTS).forward(x));
        }
        return mixed;
    }

    /**
     * The router's scores in float32 under any precision, as transformers's: a softmax over the logits, or each
     * logit's sigmoid; the logits themselves in float32 where the family's router casts to it. (..., C) -> (..., E).
     * NOTE: the router reads the rows as they come, (B, T, C), not flattened: a served adapter on Gemma 4's
     * {@code router.proj} applies each row's own adapter.
     */
    private Tensor scores(Tensor routed) {
        MoeConfig.Routing rule = moe.routing();
        Layer router = holder.layer(moe.naming().router());
        Tensor logits;
        if (rule.float32Logits()) {
            try (var f32 = Precision.F32.use()) {
                logits = router.forward(routed.to(DType.F32));
            }
        } else {
            logits = router.forward(routed);
        }
        if (!rule.sigmoid()) {
            return Softmax.softmax(logits);
        }
        try (var f32 = Precision.F32.use()) {
            return Activations.apply(Activations.Kind.SIGMOID, logits.to(DType.F32));
        }
    }

    /** The checkpoint's selection bias (E), wherever the family keeps it; null for none. */
    private Tensor selectionBias() {
        return switch (moe.routing().selectionBias()) {
            case NONE -> null;
            case BLOCK -> parameter(EXPERT_BIAS);
            case ROUTER -> correctedRouter.parameter(CorrectedRouter.CORRECTION);
            case STATICS -> holder.child(MoeStatics.NAME).parameter(CorrectedRouter.CORRECTION).reshape(moe.numExperts());
        };
    }

    /**
     * Gemma 4's {@code per_expert_scale} of each chosen expert, (N * k, 1), carrying gradients to it.
     *
     * @param chosen {@code token * E + expert} per chosen slot ({@link ExpertRouting#chosen})
     */
    private Tensor expertScales(long[] chosen, int experts) {
        long[] ids = new long[chosen.length];
        for (int i = 0; i < chosen.length; i++) {
            ids[i] = chosen[i] % experts;
        }
        Tensor scales = gemma4Router.parameter(Gemma4Router.PER_EXPERT_SCALE);
        return IndexSelect.rows(scales.reshape(experts, 1), ids);
    }

    /** The scores experts are picked by, with the bias added on the scores' device so that the pick reads one tensor. */
    private static Tensor biased(Tensor scores, Tensor bias) {
        try (var ng = Autograd.noGrad()) {
            return Elementwise.add(scores, bias);
        }
    }

    /**
     * Each expert's MLP over its group of the grouped tokens, concatenated in the same order: (N * k, C), a copy that
     * no backward reads. NOTE: each expert runs inside {@link ExpertTokens}, which tells its layers the batch row of
     * each token they see: the grouped tokens no longer follow the rows, and a served model gives each row (request)
     * its own adapter.
     *
     * @param tokensPerRow the tokens of each row of the mixture's input, which maps a token index to its row
     */
    private Tensor expertResults(Tensor grouped, ExpertRouting routing, int tokensPerRow) {
        int[] starts = routing.expertStarts();
        List<Tensor> parts = new ArrayList<>();
        for (int e = 0; e < moe.numExperts(); e++) {
            if (starts[e + 1] > starts[e]) {
                try (var rows = ExpertTokens.open(routing.tokensByExpert(), starts[e], starts[e + 1], tokensPerRow)) {
                    parts.add(expert(e, grouped.slice(0, starts[e], starts[e + 1])));
                }
            }
        }
        return Concat.cat(0, parts.toArray(Tensor[]::new));
    }

    /** Expert {@code e}'s MLP over its tokens (N, C). */
    private Tensor expert(int e, Tensor tokens) {
        if (moe.naming() == MoeConfig.Naming.GRANITE) {
            int width = moe.expertIntermediateSize();
            Tensor gateUp = ((StackedLinear) holder.child(GRANITE_INPUT)).project(e, tokens);
            Tensor h = Activations.gated(act, gateUp.slice(-1, 0, width), gateUp.slice(-1, width, 2 * width));
            return ((StackedLinear) holder.child(GRANITE_OUTPUT)).project(e, h);
        }
        if (holder.child("experts") instanceof StackedExperts stacked) {
            return stacked.experts().mlp(stacked, e, tokens);
        }
        @SuppressWarnings("unchecked")
        ModuleList<DecoderMlp> experts = (ModuleList<DecoderMlp>) holder.child("experts");
        return experts.get(e).forward(tokens);
    }
}
