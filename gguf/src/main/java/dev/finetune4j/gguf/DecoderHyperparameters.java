package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.models.decoder.BlockPattern;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderConfig.Multipliers;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LatentAttentionConfig;
import dev.finetune4j.core.models.decoder.LinearAttentionConfig;
import dev.finetune4j.core.models.decoder.MambaConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.ParallelHybridConfig;
import dev.finetune4j.core.models.decoder.QueryTemperature;
import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.models.decoder.ShortConvConfig;
import dev.finetune4j.gguf.LlamaCppArchitecture.Biases;
import dev.finetune4j.gguf.LlamaCppArchitecture.HeadSize;
import dev.finetune4j.gguf.LlamaCppArchitecture.OutputHead;
import dev.finetune4j.gguf.LlamaCppArchitecture.OwnChecks;
import dev.finetune4j.gguf.LlamaCppArchitecture.RotaryLayers;
import dev.finetune4j.gguf.LlamaCppArchitecture.RotaryPairs;
import dev.finetune4j.gguf.LlamaCppArchitecture.ScaleKeys;
import dev.finetune4j.gguf.LlamaCppArchitecture.SlidingWindow;
import dev.finetune4j.gguf.LlamaCppArchitecture.SoftCaps;
import dev.finetune4j.gguf.LlamaCppArchitecture.TemperatureStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A decoder's config as the {@code <arch>.*} keys of its GGUF architecture, and the refusal of whatever those keys
 * cannot say: llama.cpp would load such a file and silently compute another model. What each architecture's graph
 * fixes is its row of {@link LlamaCppArchitectures}, a mixture of experts' keys and refusals are
 * {@link MixtureHyperparameters}', DeepSeek-V2's and V3's latent attention {@link LatentAttentionHyperparameters}',
 * Gemma 4's per-layer shapes and inputs {@link Gemma4Hyperparameters}'; what is one model's alone stays here:
 * EXAONE 4's window by depth
 * ({@link #refuseWhatTheWindowDepthCannotSay}), gpt-oss's experts ({@link #refuseWhatGptOssCannotSay}), Qwen3.5's
 * DeltaNet, Granite 4.0 H's Mamba-2 layers and Falcon-H1's Mamba-2 mixers ({@link #refuseWhatMambaCannotSay}: Granite's
 * layers told by their {@code attention.head_count_kv} of 0, their convolution's bias, no projection biases, Granite's
 * inner width of twice the hidden size and a gated norm after the gate per group, which only one group makes Granite's
 * norm over the whole width), LFM2's
 * convolutions ({@link #refuseWhatLfm2CannotSay}), Nemotron-H's blocks (told apart by per-layer
 * {@code attention.head_count_kv} and {@code feed_forward_length}, 0 where a layer does not attend or has no MLP, and
 * without MLP layers beside mixture layers), Hunyuan's NTK alpha written into the base as the converter does
 * ({@link #alphaRaisedBase}), and Qwen3.5's interleaved M-RoPE, whose sections are written for text
 * ({@link #textRopeSections}). Granite's rotary embedding is on in every layer or in none:
 * {@code rope.scaling.finetuned}, which the converter writes for Granite 4 ({@code granitemoehybrid}, attention-only
 * and dense, exported as {@code granite}), switches it off for a model without position encoding
 * ({@code position_embedding_type} null). The converter writes a few keys these exports write otherwise, so that
 * llama.cpp computes this model: chatglm's rotary base and RMSNorm epsilon from transformers' config (the converter
 * reads GLM's original {@code rope_ratio} and {@code layernorm_epsilon}, absent from a transformers checkpoint, and
 * falls back to 10,000 and 1e-5), the context length from {@code max_position_embeddings} (chatglm's converter falls
 * back to the hidden size, command-r's prefers {@code model_max_length}), and cohere2's and exaone4's sliding layers
 * listed rather than left to llama.cpp's default of every 4th full.
 */
final class DecoderHyperparameters {
    private static final Logger LOG = LoggerFactory.getLogger(DecoderHyperparameters.class);
    /** The model_type values exported, each with its GGUF architecture. */
    static final Map<String, String> ARCHITECTURES = Map.ofEntries(Map.entry("llama", "llama"),
            Map.entry("mistral", "llama"), Map.entry("mixtral", "llama"), Map.entry("qwen2", "qwen2"),
            Map.entry("qwen2_moe", "qwen2moe"), Map.entry("qwen3", "qwen3"), Map.entry("qwen3_moe", "qwen3moe"),
            Map.entry("gemma", "gemma"), Map.entry("gemma2", "gemma2"), Map.entry("gemma3_text", "gemma3"),
            Map.entry("phi3", "phi3"), Map.entry("granite", "granite"), Map.entry("granitemoehybrid", "granite"),
            Map.entry("olmo2", "olmo2"),
            Map.entry("olmo3", "olmo2"), Map.entry("olmoe", "olmoe"), Map.entry("smollm3", "smollm3"),
            Map.entry("gpt_oss", "gpt-oss"), Map.entry("qwen3_5_text", "qwen35"),
            Map.entry("qwen3_5_moe_text", "qwen35moe"), Map.entry("glm", "chatglm"), Map.entry("glm4", "glm4"),
            Map.entry("ernie4_5", "ernie4_5"), Map.entry("cohere", "command-r"), Map.entry("cohere2", "cohere2"),
            Map.entry("exaone4", "exaone4"), Map.entry("seed_oss", "seed_oss"),
            Map.entry("hunyuan_v1_dense", "hunyuan-dense"), Map.entry("starcoder2", "starcoder2"),
            Map.entry("arcee", "arcee"), Map.entry(DecoderConfig.APERTUS, "apertus"), Map.entry("lfm2", "lfm2"),
            Map.entry(MoeConfig.GLM_MOE, "glm4moe"),
            Map.entry(MoeConfig.ERNIE_MOE, "ernie4_5-moe"), Map.entry(LatentAttentionConfig.MODEL_TYPE, "deepseek2"),
            Map.entry(LatentAttentionConfig.V2_MODEL_TYPE, "deepseek2"), Map.entry(DecoderConfig.QWEN3_NEXT, "qwen3next"),
            Map.entry(ParallelHybridConfig.MODEL_TYPE, "falcon-h1"), Map.entry(BlockPattern.MODEL_TYPE, "nemotron_h"),
            Map.entry(DecoderConfig.MINISTRAL3, "mistral3"),
            Map.entry(LatentAttentionConfig.MISTRAL4_MODEL_TYPE, "mistral4"), Map.entry(Gemma4Config.MODEL_TYPE, "gemma4"));
    /**
     * The context length the converter writes for Granite 4.0 H, whose layers without position encoding bound no
     * length (2^20, convert_hf_to_gguf.py's {@code GraniteHybridModel}).
     */
    private static final int UNBOUNDED_CONTEXT = 1 << 20;
    /** The context length the converter writes for Hunyuan's rotary scaled by alpha (256K, its technical report's). */
    private static final int HUNYUAN_ALPHA_CONTEXT = 256 * 1024;
    /** llama.cpp's smollm3: every {@code n_no_rope_layer_step}-th layer has no rotary embedding, a fixed 4. */
    private static final int SMOLLM3_NO_ROPE_STEP = 4;
    /** The gain and clamp of gpt-oss's SwiGLU, constants of llama.cpp's graph (LLM_FFN_SWIGLU_OAI_MOE). */
    private static final float GPT_OSS_SWIGLU_ALPHA = 1.702f;
    private static final float GPT_OSS_SWIGLU_LIMIT = 7f;
    /** YaRN's ramp ends as llama.cpp computes them: it reads no key for beta_fast and beta_slow. */
    private static final double YARN_BETA_FAST = 32;
    private static final double YARN_BETA_SLOW = 1;
    /** The convolution's width {@code Lfm2Config} defaults to ({@code conv_L_cache}). */
    private static final int LFM2_DEFAULT_KERNEL = 3;

    private final DecoderConfig config;
    private final LlamaCppArchitecture graph;
    /** The mixture's keys and refusals; null for a dense model. */
    private final MixtureHyperparameters mixture;
    /** DeepSeek's latent attention's keys and refusals; null for any other attention. */
    private final LatentAttentionHyperparameters latent;
    /** Nemotron-H's layers of one block each; null for any other model. */
    private final BlockPattern blocks;
    /** Gemma 4's keys and refusals; null for any other model. */
    private final Gemma4Hyperparameters gemma4;

    DecoderHyperparameters(DecoderConfig config) {
        this.config = config;
        this.blocks = config.blockPattern();
        // NOTE: granitemoehybrid is granite while all its layers attend, granitehybrid once some are Mamba-2 layers
        String architecture = mambaLayers() ? LlamaCppArchitectures.GRANITE_HYBRID
                : blocks != null && config.moe() != null ? LlamaCppArchitectures.NEMOTRON_H_MOE
                : ARCHITECTURES.get(config.modelType());
        if (architecture == null) {
            throw new IllegalArgumentException("GGUF export supports model_type " + supportedTypes() + ", not '"
                    + config.modelType() + "'; save the model (merged) as a Hugging Face folder and convert it with "
                    + "llama.cpp's convert_hf_to_gguf.py");
        }
        this.graph = LlamaCppArchitectures.of(architecture);
        if (config.moe() != null && config.moe().naming() == MoeConfig.Naming.GRANITE) {
            throw new IllegalArgumentException("GGUF export of Granite 4.0 H's mixtures (experts stacked in "
                    + "block_sparse_moe beside the shared MLP: granite-4.0-h-tiny, -h-small) is not implemented; serve the "
                    + "model with finetune4j, or save it (with any adapter merged: finetune4j merge) as a Hugging Face "
                    + "folder and convert that with llama.cpp's convert_hf_to_gguf.py");
        }
        refuseWhatGgufCannotSay();
        if (blocks != null && blocks.has(BlockPattern.Kind.MOE) && blocks.has(BlockPattern.Kind.MLP)) {
            cannot("MLP layers beside mixture layers (\"mlp\" and \"moe\" in layers_block_type, - and E in "
                    + "hybrid_override_pattern: once it has experts, every layer with a feed_forward_length routes)");
        }
        this.mixture = config.moe() == null ? null
                : new MixtureHyperparameters(config.moe(), graph.mixture(), config.numHiddenLayers(), this::cannot);
        this.latent = config.latentAttention() == null ? null
                : new LatentAttentionHyperparameters(config, this::cannot);
        this.gemma4 = graph.ownChecks() == OwnChecks.GEMMA4 ? new Gemma4Hyperparameters(config, this::cannot) : null;
    }

    static String supportedTypes() {
        return String.join(", ", ARCHITECTURES.keySet().stream().sorted().toList());
    }

    /** What llama.cpp's graph of this model's GGUF architecture fixes. */
    LlamaCppArchitecture graph() {
        return graph;
    }

    /**
     * Refuses a file type whose choices were not checked against llama.cpp for this architecture: the K-quant and
     * I-quant mixes for gpt-oss and for Nemotron-H's mixture (nemotron_h_moe), which no wide case compares with
     * llama-quantize's files yet.
     */
    void refuseUncheckedType(GgufType type) {
        if (!graph.kQuantMixesChecked() && type.isMix()) {
            throw new IllegalArgumentException("GGUF export of " + config.modelType() + " writes f32, f16, bf16 or q8_0, "
                    + "not " + type + ": llama-quantize's choices for " + graph.name() + " were not reproduced here; "
                    + "export f32 or bf16 and run llama.cpp's llama-quantize on it");
        }
    }

    /**
     * Whether q_proj and k_proj's rows are reordered within each head: llama.cpp rotates adjacent pairs where the model
     * rotates halves (GLM, ERNIE 4.5 and Cohere rotate adjacent pairs already, and keep their rows).
     */
    boolean reordersQueryKeyRows() {
        return graph.rotaryPairs() == RotaryPairs.ADJACENT && config.rotaryLayout() == RotaryLayout.HALVES;
    }

    private void refuseWhatGgufCannotSay() {
        if (config.rotaryDim() != config.headDim() && !graph.partialRotary()) {
            cannot("a partial rotary embedding (" + config.rotaryDim() + " of " + config.headDim() + " dimensions)");
        }
        Activations.Kind act = graph.activation();
        if (act != null && config.hiddenAct() != act) {
            cannot("the activation " + config.hiddenAct() + " (it computes " + act + ")");
        }
        Set<String> ropes = graph.ropeTypes();
        if (!ropes.contains(config.rope().ropeType())) {
            cannot("rope_type '" + config.rope().ropeType() + "' (supported here: "
                    + String.join(", ", ropes.stream().sorted().toList()) + ")");
        }
        if (config.rope().ropeType().equals("yarn")) {
            refuseWhatYarnCannotSay(config.rope());
        }
        refuseWhatTheTemperatureCannotSay();
        if (config.localRope() != config.rope() && !config.localRope().ropeType().equals("default")) {
            cannot("scaling of the sliding layers' rotary embedding ('" + config.localRope().ropeType() + "')");
        }
        refuseWhatTheBiasesCannotSay();
        if (graph.headSize() == HeadSize.FILLS_HIDDEN
                && (long) config.numAttentionHeads() * config.headDim() != config.hiddenSize()) {
            cannot("heads of " + config.headDim() + " (it declares attn_q and attn_output of hidden_size x hidden_size, "
                    + "so num_attention_heads x head_dim must be " + config.hiddenSize() + ")");
        }
        if (!config.tieWordEmbeddings() && graph.outputHead() == OutputHead.TIED) {
            cannot("an output head apart from the token embeddings (tie_word_embeddings false)");
        }
        if (config.tieWordEmbeddings() && graph.outputHead() == OutputHead.OWN) {
            cannot("an output head tied to the token embeddings (tie_word_embeddings true; it requires output.weight)");
        }
        boolean bothCaps = graph.softCaps() == SoftCaps.BOTH_REQUIRED;
        if (bothCaps ? config.attnLogitSoftcapping() == 0 || config.finalLogitSoftcapping() == 0
                : config.attnLogitSoftcapping() != 0
                || (config.finalLogitSoftcapping() != 0 && graph.softCaps() != SoftCaps.FINAL)) {
            cannot(bothCaps ? "Gemma 2 without its soft caps" : "soft caps");
        }
        // gemma4.cpp fixes the scale at 1, as Gemma 4's own
        double expected = graph.ownChecks() == OwnChecks.GEMMA4 ? 1 : 1 / Math.sqrt(headDimForScale());
        // NOTE: the latent attention's scale is checked with YaRN's magnitudes (LatentAttentionHyperparameters)
        if (graph.scaleKeys() != ScaleKeys.GRANITE && config.latentAttention() == null
                && Math.abs(config.attentionScale() / expected - 1) > 1e-6) {
            cannot("an attention scale of " + config.attentionScale() + " (query_pre_attn_scalar; it uses " + expected + ")");
        }
        if (graph.windowDepth() > 0) {
            refuseWhatTheWindowDepthCannotSay();
        }
        refuseLayersWithoutRotary();
        refuseWhatHiddenWideHeadsCannotSay();
        if (graph.ownChecks() == OwnChecks.GPT_OSS) {
            refuseWhatGptOssCannotSay();
        }
        if (config.linearAttention() != null) {
            refuseWhatLinearAttentionCannotSay(config.linearAttention());
        }
        if (graph.requiresPerHeadQkNorms() && config.qkNorm() != DecoderConfig.QkNorm.PER_HEAD) {
            cannot("attention without per-head q/k norms (it requires attn_q_norm and attn_k_norm)");
        }
        if (graph.qkNormsFromDepth() > 0) {
            boolean deep = config.numHiddenLayers() >= graph.qkNormsFromDepth();
            boolean normed = config.qkNorm() != DecoderConfig.QkNorm.NONE;
            if (deep != normed) {
                cannot(config.numHiddenLayers() + " layers " + (normed ? "with" : "without") + " q/k norms (its graph"
                        + " reads Command R+'s attn_q_norm and attn_k_norm exactly when a model has "
                        + graph.qkNormsFromDepth() + " layers or more)");
            }
        }
        if (config.mamba() != null) {
            refuseWhatMambaCannotSay(config.mamba());
        }
        if (config.shortConv() != null) {
            refuseWhatLfm2CannotSay(config.shortConv());
        }
        refuseWhatTheWindowCannotSay();
    }

    /**
     * Which projection biases the graph adds (ERNIE 4.5's q, k and v alone under a use_bias that switches all, gpt-oss's
     * attention biases, StarCoder2's on every projection, required) against the model's.
     */
    private void refuseWhatTheBiasesCannotSay() {
        Biases biases = graph.biases();
        if (biases == Biases.QKV_UNDER_USE_BIAS && (config.attentionBias() || config.mlpBias() || config.headBias())) {
            cannot("biases (use_bias: its graph adds q, k and v biases only, none to o_proj or the MLP"
                    + (config.headBias() ? ", the shared experts' included, nor to lm_head" : "") + ")");
        }
        boolean everyProjection = biases == Biases.EVERY_PROJECTION;
        if (everyProjection && !(config.attentionBias() && config.outputBias() && config.mlpBias())) {
            cannot("projections without biases (use_bias false; its graph requires the biases of q_proj, k_proj, "
                    + "v_proj, o_proj, c_fc and c_proj)");
        }
        if (config.mlpBias() && !everyProjection) {
            cannot("MLP biases (mlp_bias)");
        }
        if (config.attentionBias() && !biases.addsQkv()) {
            cannot("attention biases (attention_bias"
                    + (graph.namesMissingOutputBias() ? "; it declares no attn_output.bias" : "") + ")");
        }
        if (config.outputBias() && !biases.addsOutput()) {
            cannot("an o_proj bias (attention_out_bias; its graph adds q, k and v biases, none to attn_output)");
        }
    }

    /**
     * What the graph does with sliding windows: a graph that requires them refuses a model without, one without them a
     * model with them, and one that attends fully though its converter keeps the model loadable warns that the window
     * is lost.
     */
    private void refuseWhatTheWindowCannotSay() {
        boolean sliding = anySliding();
        SlidingWindow window = graph.slidingWindow();
        if (window == SlidingWindow.REQUIRED && !sliding) {
            cannot("attention without sliding-window layers (it requires attention.sliding_window and a sliding layer"
                    + (graph.rotaryLayers() == RotaryLayers.SLIDING_ONLY ? ", and rotates only in the sliding layers)"
                    : ")"));
        }
        if (sliding && window == SlidingWindow.REFUSED) {
            cannot("sliding-window layers (use_sliding_window)");
        }
        if (sliding && window.attendsFully() && config.slidingWindow() < config.maxPositionEmbeddings()) {
            // NOTE: llama.cpp drops Mistral's and StarCoder2's windows (convert_hf_to_gguf.py) and switches Phi-3's off
            // when it loads
            LOG.warn("{}'s sliding window of {} tokens is not applied by llama.cpp's {} architecture: it attends to "
                    + "the whole context, which differs from this model on sequences longer than the window",
                    config.modelType(), config.slidingWindow(), graph.name());
        }
    }

    /**
     * Which layers go without rotary embedding ({@link LlamaCppArchitecture.RotaryLayers}): none, but every 4th in
     * smollm3 (no key says otherwise), all but the sliding layers where cohere2's or exaone4's window applies, and all
     * in a granite without position encoding ({@code rope.scaling.finetuned} false).
     */
    private void refuseLayersWithoutRotary() {
        RotaryLayers rotary = graph.rotaryLayers();
        if (rotary == RotaryLayers.EVERY_OR_NONE && !anyRotary()) {
            return;
        }
        boolean smolLm3 = rotary == RotaryLayers.ALL_BUT_EVERY_FOURTH;
        boolean slidingOnly = rotary == RotaryLayers.SLIDING_ONLY && windowApplies();
        boolean none = rotary == RotaryLayers.NONE;
        List<Integer> differ = IntStream.range(0, config.numHiddenLayers())
                .filter(i -> config.ropeLayers()[i] != (slidingOnly ? config.slidingLayers()[i]
                        : !none && (!smolLm3 || (i + 1) % SMOLLM3_NO_ROPE_STEP != 0))).boxed().toList();
        if (!differ.isEmpty()) {
            cannot(smolLm3 ? "layers without rotary embedding other than every " + SMOLLM3_NO_ROPE_STEP + "th (no_rope_layers "
                    + "or no_rope_layer_interval; it leaves out layers 3, 7, 11... only): they differ at layers " + differ
                    : slidingOnly ? "rotary embedding in other layers than the sliding ones (layers " + differ + ")"
                    : none ? "rotary embedding (layers " + differ + "; its attention has no position encoding)"
                    : "layers without rotary embedding (layers " + differ + ")");
        }
    }

    /** Whether the graph applies its sliding window at this model's depth: at any, but exaone4's at 64 layers alone. */
    private boolean windowApplies() {
        return graph.windowDepth() == 0 || config.numHiddenLayers() == graph.windowDepth();
    }

    /**
     * What llama.cpp's exaone4 fixes by depth (src/models/exaone4.cpp): a model of 64 layers (EXAONE 4.0 32B) slides in
     * the layers {@code attention.sliding_window_pattern} lists and rotates in those alone, as transformers does with a
     * window set; a model of any other depth (EXAONE 4.0 1.2B's 30) attends fully and rotates in every layer, as
     * transformers does with {@code sliding_window} null.
     */
    private void refuseWhatTheWindowDepthCannotSay() {
        if (windowApplies() && !anySliding()) {
            cannot(graph.windowDepth() + " layers without sliding-window layers (at " + graph.windowDepth()
                    + " layers its graph slides in the pattern's layers, every 4th full by default, and rotates in "
                    + "those alone)");
        }
        if (!windowApplies() && anySliding()) {
            cannot("sliding-window layers in a model of " + config.numHiddenLayers() + " layers (its graph applies the "
                    + "window only at " + graph.windowDepth() + " layers, EXAONE 4.0 32B's; at any other depth every "
                    + "layer attends fully and rotates, as with sliding_window null)");
        }
    }

    /**
     * What llama.cpp's YaRN fixes (ggml's rope, src/llama-context.cpp), reading no key for it: beta_fast 32, beta_slow 1,
     * for gpt-oss and arcee the cos/sin scale {@code 0.1 ln(factor) + 1} (deepseek2's magnitudes, read from
     * {@code yarn_log_multiplier}, are {@link LatentAttentionHyperparameters}'), the ramp's ends rounded to whole
     * rotary pairs (gpt-oss's are not, which is only warned of: llama.cpp's own conversions of it round them too,
     * {@link LlamaCppArchitecture#acceptsUnroundedYarnRamp}).
     */
    private void refuseWhatYarnCannotSay(RopeConfig rope) {
        if (rope.betaFast() != YARN_BETA_FAST || rope.betaSlow() != YARN_BETA_SLOW) {
            cannot("YaRN's beta_fast " + rope.betaFast() + " and beta_slow " + rope.betaSlow() + " (it reads no key for "
                    + "them and uses " + YARN_BETA_FAST + " and " + YARN_BETA_SLOW + ")");
        }
        double logMultiplier = yarnLogMultiplier(rope);
        double scale = logMultiplier == 0 ? yarnMagnitude(rope.factor(), 1)
                : yarnMagnitude(rope.factor(), 1) / yarnMagnitude(rope.factor(), logMultiplier);
        double own = Double.isNaN(rope.attentionFactor()) ? yarnMagnitude(rope.factor(), 1) : rope.attentionFactor();
        if (graph.ownChecks() != OwnChecks.LATENT_ATTENTION && Math.abs(own / scale - 1) > 1e-6) {
            String given = Double.isNaN(rope.attentionFactor()) ? "cos/sin scale " + own
                    : "attention_factor " + rope.attentionFactor();
            cannot("YaRN's " + given + " (it scales cos and sin by " + (logMultiplier == 0 ? "0.1 ln(factor) + 1"
                    : "(0.1 ln(factor) + 1) / (0.1 mscale_all_dim ln(factor) + 1)") + " = " + scale + ")");
        }
        if (!rope.truncate() && graph.acceptsUnroundedYarnRamp()) {
            warnOfUnroundedRamp(rope);
        } else if (!rope.truncate()) {
            cannot("YaRN's ramp ends where they fall (truncate false; it rounds them to whole rotary pairs)");
        }
    }

    /**
     * YaRN's magnitude as llama.cpp computes it (src/llama-context.cpp): {@code 0.1 m ln(factor) + 1} above a factor of 1.
     */
    private static double yarnMagnitude(double factor, double m) {
        return factor <= 1 ? 1 : 0.1 * m * Math.log(factor) + 1;
    }

    /**
     * {@code rope.scaling.yarn_log_multiplier} as this export writes it: {@code mistral3}'s {@code mscale_all_dim}
     * (llama.cpp then scales cos and sin by the ratio of the magnitudes at 1 and at it, as transformers does for
     * {@code mscale} 1); 0, not written, for the other graphs (deepseek2's is {@link LatentAttentionHyperparameters}').
     */
    private double yarnLogMultiplier(RopeConfig rope) {
        return graph.temperatureStep() == TemperatureStep.ORIGINAL_CONTEXT_LENGTH ? rope.mscaleAllDim() : 0;
    }

    /** Ministral 3's and Mistral 4's query temperature ({@link QueryTemperature}), which mistral3 and deepseek2 apply. */
    private void refuseWhatTheTemperatureCannotSay() {
        QueryTemperature temperature = config.queryTemperature();
        if (temperature != null && graph.temperatureStep() == TemperatureStep.NONE) {
            cannot("Llama 4's query temperature (llama_4_scaling_beta " + temperature.beta() + ")");
        }
    }

    /**
     * What llama.cpp's olmo2 (OLMo 2 and 3) and olmoe fix (src/models/olmo2.cpp, olmoe.cpp), the graphs whose heads are
     * hidden / heads wide: q_proj and o_proj of the hidden size; olmo2's sliding layers rotated with the full layers'
     * base, unscaled; olmoe's k_norm as wide as q_norm, the hidden size, so no fewer key/value heads than query heads.
     */
    private void refuseWhatHiddenWideHeadsCannotSay() {
        if (graph.headSize() == HeadSize.HIDDEN_BY_HEADS
                && (long) config.numAttentionHeads() * config.headDim() != config.hiddenSize()) {
            cannot("head_dim " + config.headDim() + " (its heads are hidden_size / num_attention_heads = "
                    + config.hiddenSize() / config.numAttentionHeads() + " wide)");
        }
        if (graph.keyNormOfHiddenSize() && config.numKeyValueHeads() != config.numAttentionHeads()) {
            cannot("grouped-query attention (num_key_value_heads " + config.numKeyValueHeads() + " of "
                    + config.numAttentionHeads() + " heads: its k_norm.weight is as wide as the hidden size, "
                    + config.hiddenSize() + ", where this model's is " + (long) config.numKeyValueHeads()
                    * config.headDim() + ")");
        }
        RopeConfig local = config.localRope();
        if (graph.slidingRotaryAsFull() && anySliding()
                && (!local.ropeType().equals("default") || local.ropeTheta() != config.rope().ropeTheta())) {
            cannot("the sliding layers' rotary embedding (rope_type '" + local.ropeType() + "', theta "
                    + local.ropeTheta() + "; it rotates them unscaled with the full layers' theta "
                    + config.rope().ropeTheta() + ")");
        }
    }

    /**
     * What llama.cpp's gpt-oss fixes (src/models/openai-moe.cpp, src/llama-graph.cpp): the experts' SwiGLU gain 1.702
     * and clamp 7 (constants of its graph), the attention's biases (it requires {@code attn_output.bias}), layers that
     * alternate sliding and full attention (the only form checked against it here); its YaRN as
     * {@link #refuseWhatYarnCannotSay} checks it.
     */
    private void refuseWhatGptOssCannotSay() {
        MoeConfig moe = config.moe();
        if (moe.swigluAlpha() != GPT_OSS_SWIGLU_ALPHA || moe.swigluLimit() != GPT_OSS_SWIGLU_LIMIT) {
            cannot("the experts' SwiGLU with swiglu_alpha " + moe.swigluAlpha() + " and swiglu_limit "
                    + moe.swigluLimit() + " (its graph fixes " + GPT_OSS_SWIGLU_ALPHA + " and " + GPT_OSS_SWIGLU_LIMIT + ")");
        }
        if (!config.attentionBias()) {
            cannot("attention without biases (attention_bias false; it requires attn_output.bias)");
        }
        if (!anySliding()) {
            cannot("attention without sliding-window layers (layer_types; its graph keeps a sliding-window cache beside "
                    + "the full one, and only layers that alternate both were checked against it)");
        }
    }

    /**
     * What llama.cpp's qwen35, qwen35moe and qwen3next fix in the DeltaNet layers (src/models/qwen35.cpp, qwen35moe.cpp,
     * qwen3next.cpp): key and value heads of one size, its {@code ssm.state_size} (it sizes both from that key).
     */
    private void refuseWhatLinearAttentionCannotSay(LinearAttentionConfig linear) {
        if (linear.keyHeadDim() != linear.valueHeadDim()) {
            cannot("linear attention with linear_key_head_dim " + linear.keyHeadDim() + " and linear_value_head_dim "
                    + linear.valueHeadDim() + " (it sizes key and value heads alike, from ssm.state_size)");
        }
    }

    /**
     * Whether some layers are Granite 4.0 H's Mamba-2 layers in place of attention; Falcon-H1's mixers run beside the
     * attention of every layer, and Nemotron-H's are blocks of their own ({@code blocks}).
     */
    private boolean mambaLayers() {
        return config.mamba() != null && config.parallelHybrid() == null && config.blockPattern() == null;
    }

    /**
     * What llama.cpp's granitehybrid and falcon-h1 fix in the Mamba-2 mixers (src/models/mamba-base.cpp,
     * granite-hybrid.cpp, falcon-h1.cpp): the gated norm after the gate (y times silu(z), then normed), per group of
     * innerDim / mamba_n_groups channels (Granite's transformers norm over the whole inner width agrees only for one
     * group, as in every published Granite 4.0 H), or none (Falcon-H1's mamba_rms_norm false, without ssm_norm); a
     * convolution with a bias and projections without; for Granite an inner width of twice the hidden size (its graph
     * asserts that).
     */
    private void refuseWhatMambaCannotSay(MambaConfig mamba) {
        if (mamba.gatedNorm() == MambaConfig.GatedNorm.GATE_THEN_NORM && mamba.numGroups() != 1) {
            cannot("Mamba-2 layers of mamba_n_groups " + mamba.numGroups() + " (llama.cpp's gated norm, mamba.norm, "
                    + "normalises each of the " + mamba.numGroups() + " groups of " + mamba.innerDim() / mamba.numGroups()
                    + " channels apart, where transformers and finetune4j normalise the whole inner width of "
                    + mamba.innerDim() + "; they agree only for mamba_n_groups 1, as in every published Granite 4.0 H)");
        }
        if (mamba.gatedNorm() == MambaConfig.GatedNorm.GROUP_NORM_THEN_GATE) {
            cannot("the Mamba-2 mixers' norm before the gate (mamba_norm_before_gate true: it computes "
                    + "norm(y * silu(z)), the norm after the gate, as with mamba_norm_before_gate false in the published "
                    + "Falcon-H1 configs)");
        }
        if (mambaLayers() && (long) mamba.innerDim() != 2L * config.hiddenSize()) {
            cannot("Mamba-2 layers " + mamba.innerDim() + " wide (mamba_expand x hidden_size; it supports only "
                    + "mamba_expand 2, an inner width of " + 2L * config.hiddenSize() + ")");
        }
        if (!mamba.convBias()) {
            cannot("a Mamba-2 convolution without a bias (mamba_conv_bias false; its graph adds ssm_conv1d.bias)");
        }
        if (mamba.projBias()) {
            cannot("Mamba-2 projection biases (mamba_proj_bias true; it has no ssm_in or ssm_out bias)");
        }
        if (mamba.timeStepFloor() > 0) {
            LOG.warn("{}'s Mamba-2 time steps are clamped below at time_step_min {}, which llama.cpp's {} does not do: "
                    + "a channel whose softplus(dt + dt_bias) falls under it computes slightly otherwise there",
                    config.modelType(), mamba.timeStepFloor(), graph.name());
        }
        if (mamba.outProjBias()) {
            cannot("a bias of the Mamba-2 out_proj (projectors_bias true; it has no ssm_out bias)");
        }
    }

    /**
     * What llama.cpp's lfm2 fixes in LFM2's convolution layers (src/models/lfm2.cpp): no biases (its graph adds none to
     * in_proj, the convolution or out_proj, which {@code conv_bias} gives all three) and a kernel of at least 2 taps
     * (it keeps the last {@code conv_L_cache - 1} inputs and asserts there is one).
     */
    private void refuseWhatLfm2CannotSay(ShortConvConfig conv) {
        if (conv.bias()) {
            cannot("convolution layers with biases (conv_bias true; its graph adds no bias to in_proj, conv or "
                    + "out_proj, as in every published LFM2)");
        }
        if (conv.kernel() < 2) {
            cannot("a convolution of conv_L_cache " + conv.kernel() + " (it requires at least 2 taps)");
        }
    }

    /**
     * gpt-oss leaves YaRN's ramp ends where they fall ({@code truncate: false}); llama.cpp rounds them to whole rotary
     * pairs (ggml's {@code ggml_rope_yarn_corr_dims}), with no key to say otherwise, as in the GGUFs its own
     * converter makes of gpt-oss: the frequencies of the rotary pairs in between differ slightly.
     */
    private void warnOfUnroundedRamp(RopeConfig rope) {
        double low = Math.max(0, yarnCorrectionDim(rope, rope.betaFast()));
        double high = Math.min(config.rotaryDim() - 1, yarnCorrectionDim(rope, rope.betaSlow()));
        if (Math.floor(low) != low || Math.ceil(high) != high) {
            LOG.warn("{}'s YaRN ramps between rotary pairs {} and {} (truncate false), which llama.cpp rounds to {} "
                    + "and {}: the rotary frequencies of the pairs between them differ slightly from this model's, as in "
                    + "llama.cpp's own conversions of gpt-oss", config.modelType(), String.format("%.3f", low),
                    String.format("%.3f", high), (long) Math.floor(low), (long) Math.ceil(high));
        }
    }

    /** The rotary pair where YaRN's ramp ends for {@code rotations} (Peng et al. 2023, section 3.2), as ggml has it. */
    private double yarnCorrectionDim(RopeConfig rope, double rotations) {
        return config.rotaryDim() * Math.log(rope.originalMaxPositionEmbeddings() / (rotations * 2 * Math.PI))
                / (2 * Math.log(rope.ropeTheta()));
    }

    /**
     * Longrope's scale of cos and sin: the config's {@code attention_factor}, else
     * {@code sqrt(1 + ln(factor) / ln(original))} for a factor above 1, as transformers and the converter compute it.
     */
    private static double longropeAttentionFactor(RopeConfig rope) {
        if (!Double.isNaN(rope.attentionFactor())) {
            return rope.attentionFactor();
        }
        return rope.factor() > 1
                ? Math.sqrt(1 + Math.log(rope.factor()) / Math.log(rope.originalMaxPositionEmbeddings())) : 1;
    }

    /**
     * Hunyuan's base raised by its NTK alpha, {@code theta * alpha^(d / (d - 2))} for heads of d, which the converter
     * writes as {@code rope.freq_base} (a {@code rope.scaling.alpha} key beside it would make llama.cpp raise it once more).
     */
    private double alphaRaisedBase(RopeConfig rope) {
        return rope.ropeTheta() * Math.pow(rope.alpha(), config.headDim() / (config.headDim() - 2.0));
    }

    /** The head size llama.cpp's attention scale is computed from. */
    private double headDimForScale() {
        boolean big = graph.widerScaleDepth() > 0 && config.numHiddenLayers() == graph.widerScaleDepth();
        return big ? (double) config.hiddenSize() / config.numAttentionHeads() : config.headDim();
    }

    private boolean anyRotary() {
        for (boolean r : config.ropeLayers()) {
            if (r) {
                return true;
            }
        }
        return false;
    }

    private boolean anySliding() {
        for (boolean s : config.slidingLayers()) {
            if (s) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether layer {@code layer} self-attends: not a Mamba-2 or convolution layer, nor Nemotron-H's MLP layer.
     */
    boolean attends(int layer) {
        return blocks != null ? blocks.kind(layer) == BlockPattern.Kind.ATTENTION
                : !config.isMamba(layer) && !config.isShortConv(layer);
    }

    private void cannot(String what) {
        throw new IllegalArgumentException("GGUF's " + graph.name() + " architecture cannot express " + what
                + " of this " + config.modelType() + " model, so llama.cpp would compute a different model; serve it "
                + "with finetune4j (finetune4j serve), or export it to ONNX (finetune4j export-onnx names the families "
                + "it takes when it refuses one)");
    }

    /** The architecture's keys, {@code <arch>.*}. */
    void put(GgufMetadata meta) {
        String a = graph.name() + ".";
        if (graph.writesVocabSize()) {
            meta.putUint32(a + "vocab_size", config.vocabSize());
        }
        RopeConfig rope = config.rope();
        boolean alpha = rope.ropeType().equals("dynamic");
        meta.putUint32(a + "context_length", (mambaLayers() || blocks != null) && !anyRotary() ? UNBOUNDED_CONTEXT
                        : alpha ? HUNYUAN_ALPHA_CONTEXT : config.maxPositionEmbeddings())
                .putUint32(a + "embedding_length", config.hiddenSize())
                .putUint32(a + "block_count", config.numHiddenLayers());
        if (blocks != null) {
            // nemotron_h takes a layer with a width for an MLP or mixture layer, one without for a Mamba-2 or
            // attention layer; as the converter writes it, a mixture layer's is an expert's
            meta.putInt32s(a + "feed_forward_length", IntStream.range(0, config.numHiddenLayers())
                    .map(i -> switch (blocks.kind(i)) {
                        case MLP -> config.intermediateSize();
                        case MOE -> config.moe().expertIntermediateSize();
                        case MAMBA, ATTENTION -> 0;
                    }).toArray());
        } else if (gemma4 != null) {
            gemma4.put(meta, a); // per-layer widths and heads
        } else if (graph.writesDenseWidth()) {
            // Qwen3.5-MoE has no dense width (its config none, the converter writes none): the experts' keys size it
            meta.putUint32(a + "feed_forward_length", config.intermediateSize());
        }
        meta.putUint32(a + "attention.head_count", config.numAttentionHeads());
        if (mambaLayers() || config.shortConv() != null || blocks != null) {
            // llama.cpp's granitehybrid, lfm2 and nemotron_h take a layer without key/value heads for one that does
            // not attend
            meta.putInt32s(a + "attention.head_count_kv", IntStream.range(0, config.numHiddenLayers())
                    .map(i -> attends(i) ? config.numKeyValueHeads() : 0).toArray());
        } else if (latent != null) {
            latent.put(meta, a); // one key/value head of the latent's width
        } else if (gemma4 == null) {
            meta.putUint32(a + "attention.head_count_kv", config.numKeyValueHeads());
        }
        if (latent == null && gemma4 == null) {
            meta.putUint32(a + "attention.key_length", config.headDim())
                    .putUint32(a + "attention.value_length", config.headDim());
        }
        // LayerNorms (Cohere's, StarCoder2's) read their epsilon from its own key
        meta.putFloat32(a + (config.normKind() != DecoderConfig.NormKind.RMS ? "attention.layer_norm_epsilon"
                        : "attention.layer_norm_rms_epsilon"), config.normEps())
                .putFloat32(a + "rope.freq_base", alpha ? alphaRaisedBase(rope) : rope.ropeTheta());
        if (gemma4 == null) {
            meta.putUint32(a + "rope.dimension_count", config.rotaryDim());
        }
        if (blocks != null) {
            // nemotron_h requires the LayerNorm key (its MTP head's norm) and reads the RMSNorms' from the other
            meta.putFloat32(a + "attention.layer_norm_epsilon", config.normEps());
        }
        if (alpha) {
            // as the converter writes Hunyuan's: the raised base, no scaling, and its 256K context
            meta.putString(a + "rope.scaling.type", "none").putFloat32(a + "rope.scaling.factor", 1)
                    .putUint32(a + "rope.scaling.original_context_length", HUNYUAN_ALPHA_CONTEXT);
        }
        if (rope.ropeType().equals("longrope")) {
            // llama.cpp picks rope_factors_long when its context exceeds this length, else rope_factors_short
            meta.putUint32(a + "rope.scaling.original_context_length", rope.originalMaxPositionEmbeddings())
                    .putFloat32(a + "rope.scaling.attn_factor", longropeAttentionFactor(rope));
        }
        if (graph.scaleKeys() == ScaleKeys.COHERE && rope.ropeType().equals("default")) {
            meta.putString(a + "rope.scaling.type", "none"); // as the converter writes it for Cohere
        }
        if (rope.ropeType().equals("linear")) {
            meta.putString(a + "rope.scaling.type", "linear").putFloat32(a + "rope.scaling.factor", rope.factor());
        }
        if (rope.ropeType().equals("yarn")) {
            // the betas as the converter writes them, though llama.cpp reads its defaults (the only ones exported)
            meta.putString(a + "rope.scaling.type", "yarn").putFloat32(a + "rope.scaling.factor", rope.factor())
                    .putUint32(a + "rope.scaling.original_context_length", rope.originalMaxPositionEmbeddings())
                    .putFloat32(a + "rope.scaling.yarn_beta_fast", rope.betaFast())
                    .putFloat32(a + "rope.scaling.yarn_beta_slow", rope.betaSlow());
            if (yarnLogMultiplier(rope) != 0) {
                meta.putFloat32(a + "rope.scaling.yarn_log_multiplier", yarnLogMultiplier(rope));
            }
        }
        QueryTemperature temperature = config.queryTemperature();
        if (temperature != null) {
            // NOTE: llama.cpp's converter writes neither key for Mistral 4, so its files compute no temperature
            meta.putFloat32(a + "attention.temperature_scale", temperature.beta());
            if (graph.temperatureStep() == TemperatureStep.TEMPERATURE_LENGTH) {
                meta.putUint32(a + "attention.temperature_length", temperature.originalMaxPositionEmbeddings());
            } else if (!rope.ropeType().equals("yarn")) {
                // mistral3's step is YaRN's original length, from the same rope_parameters field (written above)
                meta.putUint32(a + "rope.scaling.original_context_length", temperature.originalMaxPositionEmbeddings());
            }
        }
        if (mixture != null) {
            mixture.put(meta, a);
        }
        if (graph.softCaps() == SoftCaps.BOTH_REQUIRED) {
            meta.putFloat32(a + "attn_logit_softcapping", config.attnLogitSoftcapping());
        }
        if (config.finalLogitSoftcapping() != 0) {
            meta.putFloat32(a + "final_logit_softcapping", config.finalLogitSoftcapping());
        }
        if (graph.scaleKeys() == ScaleKeys.GRANITE) {
            // converted from Granite's *_multiplier fields; llama.cpp divides the logits by logit_scale
            Multipliers m = config.multipliers();
            meta.putFloat32(a + "embedding_scale", m.embedding())
                    .putFloat32(a + "residual_scale", m.residual())
                    .putFloat32(a + "attention.scale", config.attentionScale())
                    .putFloat32(a + "logit_scale", m.logitsScaling());
            if (config.modelType().equals("granitemoehybrid")) {
                // Granite 4, as the converter writes it: rotary on or off, and its dense MLP's width once more
                // (NOTE: a model_type's keys, not the architecture's: Granite 3, also granite, gets neither)
                meta.putBool(a + "rope.scaling.finetuned", anyRotary())
                        .putUint32(a + "expert_shared_feed_forward_length", config.intermediateSize());
            }
        }
        if (graph.scaleKeys() == ScaleKeys.COHERE) {
            // llama.cpp multiplies the logits by logit_scale; finetune4j divides them by its inverse
            meta.putFloat32(a + "logit_scale", (float) (1.0 / config.multipliers().logitsScaling()));
        }
        if (config.mamba() != null) {
            putMamba(meta, a, config.mamba());
        }
        if (config.linearAttention() != null) {
            putLinearAttention(meta, a);
        }
        if (graph.requiresConvolutionKernel()) {
            // required though no layer convolves: an LFM2 of attention layers alone has Lfm2Config's default kernel
            meta.putUint32(a + "shortconv.l_cache", config.shortConv() == null ? LFM2_DEFAULT_KERNEL
                    : config.shortConv().kernel());
        }
        if (anySliding() && graph.slidingWindow() != SlidingWindow.DROPPED) {
            meta.putUint32(a + "attention.sliding_window", config.slidingWindow())
                    .putBools(a + "attention.sliding_window_pattern", config.slidingLayers())
                    .putFloat32(a + "rope.freq_base_swa", config.localRope().ropeTheta());
        }
    }

    /**
     * qwen35's and qwen3next's keys, as the converter writes them: the DeltaNet's sizes as {@code ssm.*} (conv kernel,
     * state size = key head size, group count = key heads, time-step rank = value heads, inner size = value width),
     * which layers are linear ({@code attention.recurrent_layers}, and {@code full_attention_interval} when they follow
     * one), and qwen35's interleaved M-RoPE's sections.
     */
    private void putLinearAttention(GgufMetadata meta, String a) {
        LinearAttentionConfig linear = config.linearAttention();
        meta.putUint32(a + "ssm.conv_kernel", linear.convKernel())
                .putUint32(a + "ssm.state_size", linear.keyHeadDim())
                .putUint32(a + "ssm.group_count", linear.numKeyHeads())
                .putUint32(a + "ssm.time_step_rank", linear.numValueHeads())
                .putUint32(a + "ssm.inner_size", linear.valueDim())
                .putBools(a + "attention.recurrent_layers", linear.layers());
        int interval = fullAttentionInterval(linear.layers());
        if (interval > 0) {
            meta.putUint32(a + "full_attention_interval", interval);
        }
        if (graph.ropeSections()) {
            meta.putInt32s(a + "rope.dimension_sections", textRopeSections(config.rotaryDim() / 2));
        }
    }

    /**
     * granitehybrid's and falcon-h1's keys of the Mamba-2 mixers, as the converter writes them: conv kernel, state size,
     * group count, inner size (the heads' width) and time-step rank (the heads).
     */
    private static void putMamba(GgufMetadata meta, String a, MambaConfig mamba) {
        meta.putUint32(a + "ssm.conv_kernel", mamba.convKernel())
                .putUint32(a + "ssm.state_size", mamba.stateSize())
                .putUint32(a + "ssm.group_count", mamba.numGroups())
                .putUint32(a + "ssm.inner_size", mamba.innerDim())
                .putUint32(a + "ssm.time_step_rank", mamba.numHeads());
    }

    /**
     * The interval n at which layers attend fully (layer i linear unless {@code (i + 1) % n == 0}, as Qwen3.5's
     * {@code full_attention_interval} lays them out), or 0 when they follow none.
     */
    private static int fullAttentionInterval(boolean[] linear) {
        for (int n = 1; n <= linear.length + 1; n++) {
            boolean fits = true;
            for (int i = 0; i < linear.length && fits; i++) {
                fits = linear[i] == ((i + 1) % n != 0);
            }
            if (fits) {
                return n;
            }
        }
        return 0;
    }

    /**
     * {@code rope.dimension_sections} of {@code pairs} rotary pairs: with interleaved M-RoPE, llama.cpp turns pair p by
     * the time, height or width position as {@code p % 3} is 0, 1 or 2, while p is below 3 times that axis's section,
     * and by a fourth position, 0 for text, beyond. A text token's three positions are its index, so sections that
     * count each residue's pairs turn every pair by it, as finetune4j's rotary embedding (and transformers', given
     * text) does: [11, 11, 10, 0] for Qwen3.5's 32 pairs, the converter's default.
     * NOTE: a config's own mrope_section (finetune4j does not keep it) is not written: for text only the coverage of
     * every pair matters, which these sections give; a section short of it would leave pairs unturned in llama.cpp.
     */
    static int[] textRopeSections(int pairs) {
        return new int[] {(pairs + 2) / 3, (pairs + 1) / 3, pairs / 3, 0};
    }
}
