package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.BlockPattern;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderConfig.QkNorm;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.DenseMlp;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.MlpNames;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.ParallelHybridConfig;
import dev.finetune4j.core.models.decoder.QueryTemperature;
import dev.finetune4j.core.models.decoder.SparseMoeBlock;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * The graph of the decoder family, node for node what {@link DecoderModel} computes: layers of RMSNorm, rotary
 * self-attention with grouped key/value heads and a gated MLP, with every family's switches from
 * {@link DecoderConfig}: q/k/v biases (Qwen2), q/k norms (per head: Qwen3, Gemma 3; across heads: OLMo), tied or
 * separate output head, sliding-window layers (Mistral, Qwen2, Gemma 2 and 3, Phi-3, OLMo 3), Gemma's scaled
 * embeddings and (1 + w) norms, the norms' placement (Gemma 2 and 3's four per layer, OLMo's two after the
 * sub-blocks), Granite's multipliers and Granite 4's fused shared MLP, query_pre_attn_scalar and soft caps, local rotary tables, SmolLM3's layers
 * without rotary, Phi-3's fused projections, partial rotary and longrope, rotary in adjacent pairs (GLM, ERNIE 4.5,
 * Cohere), GLM-4's four norms, Cohere's LayerNorms and parallel sub-blocks, q/k norms after the rotary (Hunyuan),
 * StarCoder2's biased LayerNorms and MLPs without a gate (StarCoder2, Arcee), ERNIE-4.5-MoE's lm_head bias, gpt-oss's
 * attention sinks. In the sparse layers of a mixture of experts ({@link ExpertsGraph#MODEL_TYPES}: Mixtral, Qwen3-MoE,
 * OLMoE, Qwen2-MoE, Granite 3's granitemoe and granitemoeshared, GLM-4.5, ERNIE-4.5-MoE, gpt-oss, DeepSeek-V2,
 * DeepSeek-V3, Mistral 4, and the hybrids' mixtures) the MLP is the mixture ({@link ExpertsGraph}): its router and
 * per-expert weights by their checkpoint names (Granite's, Mistral 4's and gpt-oss's stacked experts cut per expert,
 * gpt-oss's through {@link GptOssExperts}), plus the shared experts the family adds; DeepSeek's and Mistral 4's layers
 * before {@code first_k_dense_replace} keep a dense MLP. DeepSeek-V2, DeepSeek-V3 and Mistral 4 attend by multi-head
 * latent attention ({@link LatentAttentionGraph}), whose cached keys and values differ in width. The hybrids'
 * recurrent layers (LFM2's convolutions, Granite 4.0 H's Mamba-2, Qwen3.5's and Qwen3-Next's gated DeltaNet) mix
 * tokens through {@link RecurrentGraph} in place of attention; Qwen3.5's attention scales each head's output by its
 * gate. A Nemotron-H layer is one block after its own norm ({@link BlockPattern}: a Mamba-2 mixer, attention without
 * rotary, an MLP of squared ReLU without a gate, or a mixture of such experts beside a shared one); a Falcon-H1 layer
 * runs attention and a Mamba-2 mixer side by side on one norm, with its multipliers ({@link ParallelHybridConfig}).
 * Gemma 4's layers ({@link Gemma4Graph}) attend with heads of each layer's own shape, its kv-shared layers over
 * earlier layers' presents, and add their per-layer inputs' branch, a layer scalar and, with {@code enable_moe_block},
 * a mixture beside the MLP.
 */
final class DecoderGraph {
    /**
     * Mistral 4's and Gemma 4's experts once cut from {@code experts.gate_up_proj} (E, 2I, C: the gate rows, then the up rows) and
     * {@code experts.down_proj} (E, C, I), each expert's slices held as linear layers' weights.
     */
    private static final MlpNames MISTRAL4_EXPERTS = new MlpNames("gate_up_proj", null, "down_proj");

    /** The model types whose every switch this graph computes; a family added to core is refused until it is here. */
    static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
            "gemma3_text", "phi3", "granite", "granitemoehybrid", "olmo2", "olmo3", "smollm3", "glm", "glm4", "ernie4_5",
            "cohere", "cohere2", "exaone4", "seed_oss", "hunyuan_v1_dense", "starcoder2", "arcee", "apertus", "ministral", "ministral3",
            "lfm2", "qwen3_5_text", BlockPattern.MODEL_TYPE, ParallelHybridConfig.MODEL_TYPE, Gemma4Config.MODEL_TYPE);

    private final DecoderConfig c;
    private final DecoderModel model;
    private final TransformerGraph t;
    private final GraphBuilder g;
    private final StateDictWeights w;
    /** The rotary embedding of full-attention layers, and of sliding-window ones (Gemma 3's differs). */
    private final RotaryGraph rotary;
    private final RotaryGraph localRotary;
    /** Ministral 3's and Mistral 4's query temperature per position, (B, 1, S, 1), or null. */
    private final String queryFactor;
    /** DeepSeek's and Mistral 4's attention in every layer, or null. */
    private final LatentAttentionGraph latentAttention;
    /** The recurrent token mixers (LFM2, Granite 4.0 H, Qwen3.5), or null in a model without them. */
    private final RecurrentGraph recurrent;
    /** Gemma 4's attention, per-layer inputs and layer scalars, or null in other families. */
    private final Gemma4Graph gemma4;

    private DecoderGraph(DecoderModel model, GraphBuilder g) {
        this.model = model;
        this.c = model.config();
        this.g = g;
        LatentAttentionConfig latent = c.latentAttention();
        // latent attention's keys and values differ in width; its rotary turns the rope part of a head alone
        this.t = latent == null ? new TransformerGraph(g, c.numKeyValueHeads(), c.headDim(), c.vocabSize())
                : new TransformerGraph(g, c.numKeyValueHeads(), latent.qkHeadDim(), latent.vHeadDim(), c.vocabSize());
        int rotatedHead = latent == null ? c.headDim() : c.rotaryDim();
        // Gemma 4's full layers turn whole heads of their own size (unturned pairs at frequency 0), as core's do
        int fullHead = c.gemma4() == null ? rotatedHead : c.gemma4().globalHeadDim();
        int fullRotated = c.gemma4() == null ? c.rotaryDim() : fullHead;
        this.w = new StateDictWeights(model.stateDict(), g);
        String positions = g.op("Unsqueeze", List.of(g.op("Cast", List.of(TransformerGraph.POSITION_IDS),
                intAttr("to", FLOAT)), g.ints(2)));                                                    // (B, S, 1)
        this.rotary = new RotaryGraph(g, c.rope(), fullHead, fullRotated, c.rotaryLayout(), positions, "rotary");
        this.localRotary = c.localRope() == c.rope() && c.gemma4() == null ? rotary
                : new RotaryGraph(g, c.localRope(), c.headDim(), c.rotaryDim(), c.rotaryLayout(), positions,
                        "rotary_local");
        this.queryFactor = c.queryTemperature() == null ? null : queryFactor(c.queryTemperature(), positions);
        this.latentAttention = latent == null ? null
                : new LatentAttentionGraph(c, g, t, w, this::linear, rotary, queryFactor);
        this.recurrent = c.hasRecurrentLayers() ? new RecurrentGraph(g, t, w, c) : null;
        this.gemma4 = c.gemma4() == null ? null : new Gemma4Graph(model, g, t, w, this::linear, rotary, localRotary);
    }

    /**
     * 1 + beta ln(1 + floor(p / original)) for the positions p, float (B, S, 1), as (B, 1, S, 1): in float32, the
     * division before the floor, as transformers computes it and {@link QueryTemperature#at} does.
     */
    private String queryFactor(QueryTemperature temperature, String positions) {
        String steps = g.op("Floor", List.of(g.op("Div", List.of(positions,
                g.scalar((float) temperature.originalMaxPositionEmbeddings())))));
        String log = g.op("Log", List.of(g.op("Add", List.of(steps, g.scalar(1f)))));
        String factor = g.op("Add", List.of(g.op("Mul", List.of(log, g.scalar((float) temperature.beta()))),
                g.scalar(1f)));
        return g.op("Unsqueeze", List.of(factor, g.ints(1)));
    }

    /**
     * Whether this graph computes what a model of config {@code c} does: one of {@link #MODEL_TYPES}. (The language
     * model of a Gemma 3 vision-language checkpoint has the same config but is refused by the exporter, as its graph
     * could not take images.)
     */
    static boolean covers(DecoderConfig c) {
        if (c.hasRecurrentLayers() && !RecurrentGraph.covers(c)) {
            return false;
        }
        return c.moe() == null ? MODEL_TYPES.contains(c.modelType()) : ExpertsGraph.MODEL_TYPES.contains(c.modelType());
    }

    /** Builds the whole graph into {@code g} from {@code model}'s config and weights. */
    static void build(DecoderModel model, GraphBuilder g) throws IOException {
        new DecoderGraph(model, g).build();
    }

    private void build() throws IOException {
        String tableName = "model." + c.embeddingsName() + ".weight";
        float embeddingFactor = c.embeddingFactor(model.stateDict().get(tableName).dtype());
        String table = w.asStored(tableName);
        String x = t.embedding(table, TransformerGraph.INPUT_IDS);
        if (c.embeddingScale() != DecoderConfig.EmbeddingScale.NONE) {
            x = g.op("Mul", List.of(x, g.scalar(embeddingFactor)));
        }
        if (gemma4 != null) {
            gemma4.perLayerInputs(x);
        }
        BlockPattern blocks = c.blockPattern();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            DecoderConfig.LayerNormNames norms = c.normNames(i);
            if (c.norms() == DecoderConfig.NormPlacement.PARALLEL) { // Cohere: both sub-blocks read one norm
                String n = normed(p, norms.input(), x);
                x = residual(residual(x, tokenMixer(i, p, n)), feedForward(i, p, x, n));
                continue;
            }
            // a Nemotron-H layer is one block: a token mixer or an MLP (or mixture), after its own norm
            if (blocks == null || blocks.kind(i).mixesTokens()) {
                x = residual(x, normed(p, norms.attentionOutput(), tokenMixer(i, p, normed(p, norms.input(), x))));
            }
            if (blocks == null || !blocks.kind(i).mixesTokens()) {
                x = residual(x, normed(p, norms.mlpOutput(), feedForward(i, p, x, normed(p, norms.mlpInput(), x))));
            }
            if (gemma4 != null) {
                x = gemma4.layerOutput(i, p, x);
            }
        }
        x = hiddenNorm(x, "model." + c.finalNorm());
        float logitsScaling = c.multipliers().logitsScaling();
        if (logitsScaling != 1f) {
            x = g.op("Mul", List.of(x, g.scalar(1f / logitsScaling))); // the head's input, as core divides it
        }
        String head = c.tieWordEmbeddings() ? t.transpose(table) : w.linear("lm_head.weight");
        t.logits(x, head, w.optional("lm_head.bias"), c.finalLogitSoftcapping());
        w.requireAllUsed();
    }

    /** stream + branch, the branch scaled by Granite's residual multiplier. */
    private String residual(String stream, String branch) {
        float multiplier = c.multipliers().residual();
        String scaled = multiplier == 1f ? branch : g.op("Mul", List.of(branch, g.scalar(multiplier)));
        return g.op("Add", List.of(stream, scaled));
    }

    /**
     * Layer {@code layer}'s token mixer, its module prefix {@code p}: self-attention or a recurrent mixer (Nemotron-H's
     * either one named {@code mixer}), or Falcon-H1's two side by side on the same input, each scaled:
     * attention_out attn(attention_in x) + ssm_out mamba(x).
     */
    private String tokenMixer(int layer, String p, String x) throws IOException {
        String block = c.blockPattern() == null ? null : p + "mixer.";
        if (c.isShortConv(layer)) {
            return recurrent.shortConv(layer, p + "conv.", x);
        }
        if (c.isMamba(layer)) {
            return recurrent.mamba(layer, block != null ? block : p + "mamba.", x);
        }
        if (c.isLinearAttention(layer)) {
            return recurrent.gatedDeltaNet(layer, p + "linear_attn.", x);
        }
        ParallelHybridConfig parallel = c.parallelHybrid();
        if (parallel != null) {
            String attended = attention(layer, p + "self_attn.", scaled(x, parallel.attentionIn()));
            String ssm = recurrent.mamba(layer, p + "mamba.", x);
            return g.op("Add", List.of(scaled(ssm, parallel.ssmOut()), scaled(attended, parallel.attentionOut())));
        }
        return attention(layer, block != null ? block : p + "self_attn.", x);
    }

    /** x times {@code factor}, or x itself where the factor is 1. */
    private String scaled(String x, float factor) {
        return factor == 1f ? x : g.op("Mul", List.of(x, g.scalar(factor)));
    }

    /** x (B, S, C) -> (B, S, C); layer {@code layer}'s rotary table and sliding window. */
    private String attention(int layer, String p, String x) throws IOException {
        if (latentAttention != null) {
            return latentAttention.attention(layer, p, x);
        }
        if (gemma4 != null) {
            return gemma4.attention(layer, p, x);
        }
        int window = c.slidingWindowOf(layer);
        RotaryGraph rope = window > 0 ? localRotary : rotary;
        List<String> qkv = c.fusedProjections()
                ? g.ops(3, "Split", List.of(linear(p + "qkv_proj", x), g.ints(qWidth(), kvWidth(), kvWidth())), intAttr("axis", 2))
                : List.of(linear(p + "q_proj", x), linear(p + "k_proj", x), linear(p + "v_proj", x));
        RotaryGraph rotation = c.ropeLayers()[layer] ? rope : null;
        DecoderConfig.AttentionNames names = c.attentionNames();
        String queries = qkv.get(0);
        String gate = null;
        if (c.attentionOutputGate()) { // Qwen3.5: each head's q_proj rows hold its queries, then its output gate
            List<String> split = g.ops(2, "Split", List.of(g.op("Reshape", List.of(queries,
                    g.ints(0, 0, c.numAttentionHeads(), 2L * c.headDim()))), g.ints(c.headDim(), c.headDim())),
                    intAttr("axis", 3));
            queries = g.op("Reshape", List.of(split.get(0), g.ints(0, 0, qWidth())));
            gate = g.op("Sigmoid", List.of(g.op("Reshape", List.of(split.get(1), g.ints(0, 0, qWidth())))));
        }
        String q = heads(queries, c.numAttentionHeads(), p + names.queryNorm() + ".weight", rotation);
        if (queryFactor != null) {
            q = g.op("Mul", List.of(q, queryFactor));
        }
        // Falcon-H1's key_multiplier scales the keys before the rotation and the cache, as core does
        String keys = c.parallelHybrid() == null ? qkv.get(1) : scaled(qkv.get(1), c.parallelHybrid().key());
        String k = heads(keys, c.numKeyValueHeads(), p + names.keyNorm() + ".weight", rotation);
        String v = t.splitHeads(qkv.get(2), c.numKeyValueHeads());
        List<String> present = t.cache(layer, k, v);
        TransformerGraph.Scores scores = new TransformerGraph.Scores(c.attentionScale(), c.attnLogitSoftcapping(), window);
        String sinks = c.attentionSinks() ? w.asStored(p + "sinks") : null;
        String context = t.attention(q, present.get(0), present.get(1), c.numAttentionHeads(), scores, sinks);
        return linear(p + names.output(), gate == null ? context : g.op("Mul", List.of(context, gate)));
    }

    /**
     * (B, S, H*D) -> (B, H, S, D), normalised (across heads: OLMo; per head: Qwen3, Gemma 3) and rotated unless
     * {@code rope} is null (SmolLM3's layers without rotary), or rotated and then normalised per head (Hunyuan).
     */
    private String heads(String proj, int heads, String normWeight, RotaryGraph rope) throws IOException {
        String normed = c.qkNorm() == QkNorm.ACROSS_HEADS ? norm(proj, normWeight) : proj;
        String x = g.op("Reshape", List.of(normed, g.ints(0, 0, heads, c.headDim())));
        if (c.qkNorm() == QkNorm.PER_HEAD) {
            x = norm(x, normWeight);
        }
        String transposed = t.transposeHeads(x);
        String rotated = rope == null ? transposed : rope.rotate(transposed);
        return c.qkNorm() == QkNorm.PER_HEAD_AFTER_ROTARY ? norm(rotated, normWeight) : rotated;
    }

    /**
     * Layer {@code layer}'s MLP of x, the normed {@code stream}, or in a sparse layer its mixture of experts
     * ({@link ExpertsGraph}), plus Granite's {@code shared_mlp} beside the mixture where the family has one, or Gemma
     * 4's mixture beside the MLP, routed by the stream itself. x, stream (B, S, C) -> (B, S, C).
     */
    private String feedForward(int layer, String p, String stream, String x) throws IOException {
        if (!c.isSparse(layer)) {
            return mlp(p, x);
        }
        if (c.moe().naming().besideMlp()) {
            ExpertsGraph.Expert expert = (e, rows) -> gatedMlp(p + "experts." + e + ".", MISTRAL4_EXPERTS, true,
                    c.moe().expertIntermediateSize(), rows);
            return gemma4.besideMlp(p, stream, mlp(p, x), expert);
        }
        String mixed = experts(p + c.moe().naming().block() + ".", x);
        return c.sharedMlpBesideExperts() ? g.op("Add", List.of(mixed, mlp(p, x))) : mixed;
    }

    /**
     * The sparse block {@code p}: its router and experts, and the shared experts every token passes through beside
     * them (Qwen2-MoE's {@code shared_expert} scaled by {@code sigmoid(shared_expert_gate(x))}, GLM-4.5's and ERNIE's
     * {@code shared_experts} as they are), named as {@link SparseMoeBlock} says. Granite's stacked
     * {@code input_linear} (E, 2I, C) and {@code output_linear} (E, C, I) are cut into one pair per expert, named
     * {@code experts.N.input_linear} and {@code experts.N.output_linear}; gpt-oss's router has a bias and its stacked
     * experts are {@link GptOssExperts}. x (B, S, C) -> (B, S, C).
     */
    private String experts(String p, String x) throws IOException {
        MoeConfig moe = c.moe();
        String tokens = g.op("Reshape", List.of(x, g.ints(-1, c.hiddenSize())));                       // (N, C)
        boolean granite = moe.naming() == MoeConfig.Naming.GRANITE;
        String router = p + moe.naming().router() + (granite ? ".layer" : "");
        String selectionBias = switch (moe.routing().selectionBias()) {
            case NONE -> null;
            case ROUTER -> w.asStored(router + ".e_score_correction_bias");
            case STATICS -> w.asStored(p + "moe_statics.e_score_correction_bias");
            case BLOCK -> w.asStored(p + "expert_bias");
        };
        boolean mistral4 = moe.naming() == MoeConfig.Naming.MISTRAL4;
        MlpNames names = granite ? DenseMlp.GRANITE_SHARED.names() : mistral4 ? MISTRAL4_EXPERTS : moe.naming().expert();
        if (granite || mistral4) {
            for (String stacked : List.of(names.gate(), names.down())) {
                w.unstack(granite ? p + stacked + ".weight" : p + "experts." + stacked,
                        e -> p + "experts." + e + "." + stacked + ".weight");
            }
        }
        String routerWeight = w.transposed(router + ".weight");
        String routerBias = moe.naming().routerBias() ? w.asStored(router + ".bias") : null;
        ExpertsGraph.Expert expert = moe.naming() == MoeConfig.Naming.GPT_OSS
                ? new GptOssExperts(g, w, p + "experts.", moe)
                : names.gate() == null ? (e, rows) -> ungatedMlp(p + "experts." + e + ".", names, rows)
                : (e, rows) -> gatedMlp(p + "experts." + e + ".", names, granite || mistral4,
                        moe.expertIntermediateSize(), rows);
        String routed = new ExpertsGraph(g, moe, c.hiddenSize()).mix(tokens, routerWeight, routerBias, selectionBias,
                expert);
        if (moe.sharedExpertIntermediateSize() > 0 && moe.sharedExpertGated()) {
            // the shared expert's gate routes as the router does: float32 in a quantized export too
            String share = g.op("Sigmoid", List.of(g.op("MatMul", List.of(tokens,
                    w.transposed(p + "shared_expert_gate.weight")))));
            String shared = gatedMlp(p + "shared_expert.", MlpNames.STANDARD, false, 0, tokens);
            routed = g.op("Add", List.of(routed, g.op("Mul", List.of(shared, share))));
        } else if (moe.sharedExpertIntermediateSize() > 0) { // Nemotron-H's named and computed as its experts
            String shared = names.gate() == null ? ungatedMlp(p + "shared_experts.", names, tokens)
                    : gatedMlp(p + "shared_experts.", MlpNames.STANDARD, false, 0, tokens);
            routed = g.op("Add", List.of(routed, shared));
        }
        return g.op("Reshape", List.of(routed, g.op("Shape", List.of(x))));
    }

    /**
     * down(act(gate(x)) * up(x)) of layer prefix {@code layer}, named as {@link DenseMlp} says; Phi-3's gate_up_proj
     * and Granite 4's input_linear hold the gate first; Falcon-H1 scales the gate before the activation and the
     * output by its mlp_multipliers; StarCoder2's, Arcee's, Apertus's and Nemotron-H's down(act(up(x))) have no gate
     * (Apertus's act is xIELU with the layer's learned scalars).
     */
    private String mlp(String layer, String x) throws IOException {
        DenseMlp mlp = c.denseMlp();
        String p = layer + mlp.module() + ".";
        if (!mlp.gated() && !c.xielu()) {
            return ungatedMlp(p, mlp.names(), x);
        }
        if (!mlp.gated()) {
            String up = linear(p + mlp.names().up(), x);
            String activated = t.xielu(up, w.asStored(p + "act_fn.alpha_p"), w.asStored(p + "act_fn.alpha_n"));
            return linear(p + mlp.names().down(), activated);
        }
        ParallelHybridConfig falcon = c.parallelHybrid();
        String out = gatedMlp(p, mlp.names(), mlp.fusedGateUp(), c.intermediateSize(),
                falcon == null ? 1f : falcon.mlpGate(), x);
        return falcon == null ? out : scaled(out, falcon.mlpDown());
    }

    /** down(act(up(x))) of the MLP {@code p}, its projections named {@code names} (which name no gate). */
    private String ungatedMlp(String p, MlpNames names, String x) throws IOException {
        return linear(p + names.down(), t.activation(c.hiddenAct(), linear(p + names.up(), x)));
    }

    /**
     * down(act(gate(x)) * up(x)) of the MLP {@code p}, its projections named {@code names}; when {@code fused}, one
     * projection holds the gate's {@code width} outputs first, then the up half's.
     */
    private String gatedMlp(String p, MlpNames names, boolean fused, int width, String x) throws IOException {
        return gatedMlp(p, names, fused, width, 1f, x);
    }

    /** {@link #gatedMlp(String, MlpNames, boolean, int, String)} with the gate times {@code gateFactor} before act. */
    private String gatedMlp(String p, MlpNames names, boolean fused, int width, float gateFactor, String x)
            throws IOException {
        List<String> gateUp = fused
                ? g.ops(2, "Split", List.of(linear(p + names.gate(), x), g.ints(width, width)), intAttr("axis", -1))
                : List.of(linear(p + names.gate(), x), linear(p + names.up(), x));
        String gate = t.activation(c.hiddenAct(), scaled(gateUp.get(0), gateFactor));
        return linear(p + names.down(), g.op("Mul", List.of(gate, gateUp.get(1))));
    }

    /** {@code x} through layer {@code p}'s norm called {@code name}, or {@code x} where the layer has none there. */
    private String normed(String p, String name, String x) throws IOException {
        return name == null ? x : hiddenNorm(x, p + name);
    }

    /**
     * A norm of the hidden states, module {@code name}: an RMSNorm, or a LayerNorm with its bias (StarCoder2) or
     * without one (Cohere), as the family computes it.
     */
    private String hiddenNorm(String x, String name) throws IOException {
        return switch (c.normKind()) {
            case RMS -> norm(x, name + ".weight");
            case LAYER -> t.layerNorm(x, w.asStored(name + ".weight"), w.asStored(name + ".bias"), c.normEps());
            case LAYER_WITHOUT_BIAS -> t.layerNorm(x, w.asStored(name + ".weight"), null, c.normEps());
        };
    }

    /** An RMSNorm with the stored {@code weight} (the q/k norms' kind in every family, and the hidden ones'). */
    private String norm(String x, String weight) throws IOException {
        return t.rmsNorm(x, w.asStored(weight), c.normEps(), c.gemmaNorms());
    }

    private String linear(String name, String x) throws IOException {
        return t.linear(x, w.linear(name + ".weight"), w.optional(name + ".bias"));
    }

    private long qWidth() {
        return (long) c.numAttentionHeads() * c.headDim();
    }

    private long kvWidth() {
        return (long) c.numKeyValueHeads() * c.headDim();
    }
}
