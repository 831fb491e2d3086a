package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderConfig.Multipliers;
import dev.finetune4j.core.models.decoder.LinearAttentionConfig;
import dev.finetune4j.core.models.decoder.MambaConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.models.decoder.ShortConvConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A decoder's config as the {@code <arch>.*} keys of its GGUF architecture, and the refusal of whatever those keys
 * cannot say: llama.cpp would load such a file and silently compute another model. What each architecture fixes
 * (llama.cpp's src/models/*.cpp): the activation (SiLU; GELU's tanh form for Gemma), the attention scale
 * (1/sqrt(head_dim); Gemma 2 27B and Gemma 3 27B, recognised by their layer count, 1/sqrt(hidden/heads); Granite's
 * from its {@code attention.scale} key), the rotary embedding over whole heads (but Phi-3's), Gemma and Gemma 2's tied
 * output head and Gemma 2's two soft caps; OLMo 2 and 3 ({@code olmo2}) a separate output head, heads that fill the
 * hidden size, and sliding layers rotated with the full layers' base and no scaling; SmolLM3 ({@code smollm3}) no
 * rotary in every 4th layer, and no sliding window; for the mixtures of experts (Mixtral as {@code llama},
 * {@code qwen2moe}, {@code qwen3moe}, {@code olmoe}) whether every layer routes, whether the routing weights are
 * renormalised and the shared expert Qwen2-MoE and Qwen3.5-MoE require; OLMoE's as many key/value heads as query
 * heads, filling the hidden size;
 * gpt-oss ({@code gpt-oss}) its experts' clamped SwiGLU (alpha 1.702, limit 7), sliding layers, YaRN's betas and
 * cos/sin scale, and YaRN's ramp ends rounded to whole rotary pairs (gpt-oss's are not: a warning is logged).
 * Granite's rotary embedding is on in every layer or in none: {@code rope.scaling.finetuned}, which the converter
 * writes for Granite 4 ({@code granitemoehybrid}, attention-only and dense, exported as {@code granite}), switches it
 * off for a model without position encoding ({@code position_embedding_type} null).
 * Granite 4.0 H ({@code granitemoehybrid} with Mamba-2 layers, exported as {@code granitehybrid}) tells its Mamba-2
 * layers by their {@code attention.head_count_kv} of 0, and fixes their convolution's bias, no projection biases, an
 * inner width of twice the hidden size and a gated norm per group, which only one group makes transformers' norm
 * over the whole width ({@link #refuseWhatGraniteHybridCannotSay}).
 * Qwen3.5 ({@code qwen35}, and with its mixture {@code qwen35moe}) fixes its DeltaNet's key and value heads to one
 * size and its attention's q/k norms per head;
 * its partial rotary embedding is interleaved M-RoPE, whose sections are written for text ({@link #textRopeSections}).
 * GLM ({@code glm} as {@code chatglm}) and GLM-4 ({@code glm4}) rotate the first half of each head in adjacent pairs
 * ({@code rope.dimension_count}), add q/k/v biases and none to attn_output; chatglm's heads fill the hidden size.
 * ERNIE 4.5 ({@code ernie4_5}) rotates whole heads and adds no bias to o_proj or the MLP (its {@code use_bias} is
 * refused). Cohere ({@code cohere} as {@code command-r}) and Cohere 2 ({@code cohere2}) fix bias-free LayerNorms
 * ({@code attention.layer_norm_epsilon}), parallel sub-blocks, a head tied to the embeddings, heads filling the hidden
 * size and no attention biases, and multiply the logits by {@code logit_scale}; cohere2 rotates in its sliding layers
 * only ({@code attention.sliding_window_pattern}). EXAONE 4 ({@code exaone4}) fixes heads filling the hidden size, per-head
 * q/k norms before the rotary, norms after each sub-block, no o_proj bias, and by depth its window
 * ({@link #refuseWhatExaone4CannotSay}); Seed-OSS ({@code seed_oss}) q/k/v biases and none on o_proj or the MLP;
 * Hunyuan dense ({@code hunyuan-dense}) per-head q/k norms after the rotary and no o_proj bias, its NTK alpha written
 * into the base as the converter does ({@link #alphaRaisedBase}); StarCoder2 ({@code starcoder2}) LayerNorms with
 * biases ({@code attention.layer_norm_epsilon}), every projection's bias, GELU's tanh form, heads filling the hidden
 * size and no sliding window at all; Arcee ({@code arcee}) the squared ReLU, no biases, YaRN's fixed betas; LFM2
 * ({@code lfm2}) heads filling the hidden size, per-head q/k norms before the rotary, and convolution layers, told by
 * their {@code attention.head_count_kv} of 0, without biases ({@link #refuseWhatLfm2CannotSay}). The
 * converter writes a few keys these exports write otherwise, so
 * that llama.cpp computes this model: chatglm's rotary base and RMSNorm epsilon from transformers' config (the
 * converter reads GLM's original {@code rope_ratio} and {@code layernorm_epsilon}, absent from a transformers
 * checkpoint, and falls back to 10,000 and 1e-5), the context length from {@code max_position_embeddings} (chatglm's
 * converter falls back to the hidden size, command-r's prefers {@code model_max_length}), and cohere2's sliding
 * layers listed rather than left to llama.cpp's default of every 4th full.
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
            Map.entry("arcee", "arcee"), Map.entry("lfm2", "lfm2"));
    /** The architecture of a {@code granitemoehybrid} with Mamba-2 layers (Granite 4.0 H); without any, granite. */
    private static final String GRANITE_HYBRID = "granitehybrid";
    /**
     * The architectures whose rotary embedding turns adjacent pairs ({@code LLAMA_ROPE_TYPE_NORM} in llama.cpp's
     * {@code llama_model_rope_type}; glm4's without M-RoPE sections, as written here); the others turn halves.
     */
    private static final Set<String> ADJACENT_PAIRS = Set.of("llama", "granite", GRANITE_HYBRID, "smollm3", "chatglm",
            "glm4", "ernie4_5", "command-r", "cohere2", "arcee");
    /** Cohere's architectures: bias-free LayerNorms, one norm before parallel sub-blocks, logits times logit_scale. */
    private static final Set<String> COHERE = Set.of("command-r", "cohere2");
    /** The architectures whose graph holds a partial rotary embedding ({@code rope.dimension_count} below the head). */
    private static final Set<String> PARTIAL_ROTARY = Set.of("phi3", "qwen35", "qwen35moe", "chatglm", "glm4");
    /**
     * The architectures whose graph adds q, k and v biases but none to attn_output (their checkpoints have none, and
     * Seed-OSS's only with its own attention_out_bias).
     */
    private static final Set<String> QKV_BIASES = Set.of("qwen2", "qwen2moe", "chatglm", "glm4", "seed_oss");
    /** The architectures whose graph adds a bias to attn_output: gpt-oss's, and StarCoder2's, which requires it. */
    private static final Set<String> OUTPUT_BIAS = Set.of("gpt-oss", "starcoder2");
    /**
     * The architectures whose graph declares attn_q and attn_output as square matrices of the hidden size
     * (src/models/chatglm.cpp, command-r.cpp, cohere2.cpp, exaone4.cpp's attn_output, starcoder2.cpp, lfm2.cpp),
     * so heads must fill it.
     */
    private static final Set<String> HEADS_FILL_HIDDEN = Set.of("chatglm", "command-r", "cohere2", "exaone4",
            "starcoder2", "lfm2");
    /**
     * The layer count at which llama.cpp's exaone4 switches its sliding window on (EXAONE 4.0 32B's): a model of any
     * other depth attends fully and rotates in every layer there.
     */
    private static final int EXAONE4_SLIDING_LAYERS = 64;
    /** llama.cpp's command-r requires per-head q/k norms (Command R+'s) from this many layers on. */
    private static final int COMMAND_R_QK_NORM_LAYERS = 64;
    /** The architectures whose graph requires {@code output.weight}: a tied head cannot be loaded. */
    private static final Set<String> OWN_OUTPUT_HEAD = Set.of("qwen2moe", "olmo2", "olmoe", "gpt-oss");
    /**
     * The mixtures whose graph uses a token's k routing weights as the softmax over all experts gave them (qwen2moe.cpp,
     * olmoe.cpp); llama (Mixtral) and qwen3moe renormalise them to sum to 1.
     */
    private static final Set<String> UNNORMALISED_ROUTING = Set.of("qwen2moe", "olmoe");
    /** The mixtures that size their experts by {@code expert_feed_forward_length}; the others by feed_forward_length. */
    private static final Set<String> EXPERT_WIDTH_KEY = Set.of("qwen2moe", "qwen3moe", "gpt-oss", "qwen35moe");
    /** The mixtures whose graph requires a shared expert ({@code ffn_*_shexp}, gated by {@code ffn_gate_inp_shexp}). */
    private static final Set<String> SHARED_EXPERT_REQUIRED = Set.of("qwen2moe", "qwen35moe");
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
    /** llama.cpp's {@code LLAMA_MAX_EXPERTS}: a file with more experts per layer fails to load. */
    private static final int MAX_EXPERTS = 1024;

    private final DecoderConfig config;
    private final String architecture;

    DecoderHyperparameters(DecoderConfig config) {
        this.config = config;
        // NOTE: granitemoehybrid is granite while all its layers attend, granitehybrid once some are Mamba-2 layers
        this.architecture = config.mamba() != null ? GRANITE_HYBRID : ARCHITECTURES.get(config.modelType());
        if (architecture == null) {
            throw new IllegalArgumentException("GGUF export supports model_type " + supportedTypes() + ", not '"
                    + config.modelType() + "'; save the model (merged) as a Hugging Face folder and convert it with "
                    + "llama.cpp's convert_hf_to_gguf.py");
        }
        if (config.moe() != null && config.moe().naming() == MoeConfig.Naming.GRANITE) {
            throw new IllegalArgumentException("GGUF export of Granite 4.0 H's mixtures (experts stacked in "
                    + "block_sparse_moe beside the shared MLP: granite-4.0-h-tiny, -h-small) is not implemented; serve the "
                    + "model with finetune4j, or save it (with any adapter merged: finetune4j merge) as a Hugging Face "
                    + "folder and convert that with llama.cpp's convert_hf_to_gguf.py");
        }
        refuseWhatGgufCannotSay();
    }

    static String supportedTypes() {
        return String.join(", ", ARCHITECTURES.keySet().stream().sorted().toList());
    }

    /** The GGUF architecture ({@code general.architecture}). */
    String architecture() {
        return architecture;
    }

    boolean isGemma() {
        return architecture.startsWith("gemma");
    }

    /**
     * Whether llama.cpp reads a fused gate and up projection as one {@code ffn_up} of [gate; up] rows (phi3); the
     * others read {@code ffn_gate} and {@code ffn_up} apart.
     */
    boolean readsFusedGateUp() {
        return architecture.equals("phi3") || architecture.equals("chatglm") || architecture.equals("glm4");
    }

    /** Cohere's architectures, {@code command-r} and {@code cohere2}. */
    private boolean isCohere() {
        return COHERE.contains(architecture);
    }

    /** Granite's architectures: {@code granite} and Granite 4.0 H's {@code granitehybrid}, which share its scales. */
    private boolean isGranite() {
        return architecture.equals("granite") || architecture.equals(GRANITE_HYBRID);
    }

    private boolean isGptOss() {
        return architecture.equals("gpt-oss");
    }

    /**
     * Whether llama.cpp reads the norm before the MLP as {@code post_attention_norm} (gpt-oss, qwen35, qwen35moe,
     * seed_oss).
     */
    boolean readsPostAttentionNorm() {
        return isGptOss() || isQwen35() || architecture.equals("seed_oss");
    }

    /** Qwen3.5's layers, dense ({@code qwen35}) or with a mixture of experts in every layer ({@code qwen35moe}). */
    private boolean isQwen35() {
        return architecture.equals("qwen35") || architecture.equals("qwen35moe");
    }

    /**
     * Refuses a file type whose choices were not checked against llama.cpp for this architecture: the K-quant mixes for
     * gpt-oss, whose llama-quantize rules (and MXFP4 experts) this export does not reproduce, and for qwen35moe, whose
     * choices for the DeltaNet beside stacked experts were not compared with llama-quantize's.
     */
    void refuseUncheckedType(GgufType type) {
        if ((isGptOss() || architecture.equals("qwen35moe")) && type.isKQuantMix()) {
            throw new IllegalArgumentException("GGUF export of " + config.modelType() + " writes f32, f16, bf16 or q8_0, "
                    + "not " + type + ": llama-quantize's choices for " + architecture + " were not reproduced here; "
                    + "export f32 or bf16 and run llama.cpp's llama-quantize on it");
        }
    }

    /**
     * Whether q_proj and k_proj's rows are reordered within each head: llama.cpp rotates adjacent pairs where the model
     * rotates halves (GLM, ERNIE 4.5 and Cohere rotate adjacent pairs already, and keep their rows).
     */
    boolean reordersQueryKeyRows() {
        return ADJACENT_PAIRS.contains(architecture) && config.rotaryLayout() == RotaryLayout.HALVES;
    }

    private void refuseWhatGgufCannotSay() {
        boolean phi3 = architecture.equals("phi3");
        if (config.rotaryDim() != config.headDim() && !PARTIAL_ROTARY.contains(architecture)) {
            cannot("a partial rotary embedding (" + config.rotaryDim() + " of " + config.headDim() + " dimensions)");
        }
        boolean starCoder2 = architecture.equals("starcoder2");
        Activations.Kind act = isGemma() || starCoder2 ? Activations.Kind.GELU_TANH
                : architecture.equals("arcee") ? Activations.Kind.RELU2 : Activations.Kind.SILU;
        if (config.hiddenAct() != act && !isGptOss()) { // gpt-oss's experts have their own activation
            cannot("the activation " + config.hiddenAct() + " (it computes " + act + ")");
        }
        Set<String> ropes = switch (architecture) {
            case "llama", "granite", GRANITE_HYBRID -> Set.of("default", "linear", "llama3");
            case "phi3" -> Set.of("default", "longrope");
            case "gpt-oss", "arcee" -> Set.of("default", "linear", "yarn");
            case "hunyuan-dense" -> Set.of("default", "linear", "dynamic"); // dynamic with alpha: a raised base
            default -> Set.of("default", "linear");
        };
        if (!ropes.contains(config.rope().ropeType())) {
            cannot("rope_type '" + config.rope().ropeType() + "' (supported here: "
                    + String.join(", ", ropes.stream().sorted().toList()) + ")");
        }
        if (config.rope().ropeType().equals("yarn")) {
            refuseWhatYarnCannotSay(config.rope());
        }
        if (config.localRope() != config.rope() && !config.localRope().ropeType().equals("default")) {
            cannot("scaling of the sliding layers' rotary embedding ('" + config.localRope().ropeType() + "')");
        }
        if (architecture.equals("ernie4_5") && (config.attentionBias() || config.mlpBias())) {
            // NOTE: ernie4_5.cpp loads attn_output.bias but never adds it, and declares no MLP bias
            cannot("biases (use_bias: its graph adds q, k and v biases only, none to o_proj or the MLP)");
        }
        if (starCoder2 && !(config.attentionBias() && config.outputBias() && config.mlpBias())) {
            cannot("projections without biases (use_bias false; its graph requires the biases of q_proj, k_proj, "
                    + "v_proj, o_proj, c_fc and c_proj)");
        }
        if (config.mlpBias() && !starCoder2) {
            cannot("MLP biases (mlp_bias)");
        }
        if (config.attentionBias() && !QKV_BIASES.contains(architecture) && !OUTPUT_BIAS.contains(architecture)) {
            boolean noOutputBias = isCohere() || Set.of("exaone4", "hunyuan-dense", "arcee").contains(architecture);
            cannot("attention biases (attention_bias" + (noOutputBias ? "; it declares no attn_output.bias" : "") + ")");
        }
        if (config.outputBias() && !OUTPUT_BIAS.contains(architecture)) {
            cannot("an o_proj bias (attention_out_bias; its graph adds q, k and v biases, none to attn_output)");
        }
        if (HEADS_FILL_HIDDEN.contains(architecture)
                && (long) config.numAttentionHeads() * config.headDim() != config.hiddenSize()) {
            cannot("heads of " + config.headDim() + " (it declares attn_q and attn_output of hidden_size x hidden_size, "
                    + "so num_attention_heads x head_dim must be " + config.hiddenSize() + ")");
        }
        if (!config.tieWordEmbeddings() && (architecture.equals("gemma") || architecture.equals("gemma2") || isCohere())) {
            cannot("an output head apart from the token embeddings (tie_word_embeddings false)");
        }
        if (config.tieWordEmbeddings() && OWN_OUTPUT_HEAD.contains(architecture)) {
            cannot("an output head tied to the token embeddings (tie_word_embeddings true; it requires output.weight)");
        }
        boolean gemma2 = architecture.equals("gemma2");
        if (gemma2 ? config.attnLogitSoftcapping() == 0 || config.finalLogitSoftcapping() == 0
                : config.attnLogitSoftcapping() != 0 || (config.finalLogitSoftcapping() != 0 && !architecture.equals("gemma3"))) {
            cannot(gemma2 ? "Gemma 2 without its soft caps" : "soft caps");
        }
        double expected = 1 / Math.sqrt(headDimForScale());
        if (!isGranite() && Math.abs(config.attentionScale() / expected - 1) > 1e-6) {
            cannot("an attention scale of " + config.attentionScale() + " (query_pre_attn_scalar; it uses " + expected + ")");
        }
        if (config.moe() != null) {
            refuseWhatTheMixtureCannotSay(config.moe());
        }
        if (architecture.equals("exaone4")) {
            refuseWhatExaone4CannotSay();
        }
        refuseLayersWithoutRotary();
        if (architecture.equals("olmo2") || architecture.equals("olmoe")) {
            refuseWhatOlmoCannotSay();
        }
        if (isGptOss()) {
            refuseWhatGptOssCannotSay();
        }
        if (isQwen35()) {
            refuseWhatQwen35CannotSay();
        }
        if (architecture.equals("command-r") && config.numHiddenLayers() >= COMMAND_R_QK_NORM_LAYERS) {
            cannot(config.numHiddenLayers() + " layers without q/k norms (from " + COMMAND_R_QK_NORM_LAYERS
                    + " layers on, its graph requires Command R+'s attn_q_norm and attn_k_norm)");
        }
        if (config.mamba() != null) {
            refuseWhatGraniteHybridCannotSay(config.mamba());
        }
        if (config.shortConv() != null) {
            refuseWhatLfm2CannotSay(config.shortConv());
        }
        boolean sliding = anySliding();
        boolean slidingArch = gemma2 || architecture.equals("gemma3") || architecture.equals("olmo2") || isGptOss()
                || architecture.equals("cohere2") || architecture.equals("exaone4");
        if (architecture.equals("cohere2") && !sliding) {
            cannot("attention without sliding-window layers (it requires attention.sliding_window, and rotates only "
                    + "in the sliding layers)");
        }
        boolean windowIgnored = architecture.equals("llama") || phi3 || starCoder2;
        if (sliding && !slidingArch && !windowIgnored) {
            cannot("sliding-window layers (use_sliding_window)");
        }
        if (sliding && windowIgnored && config.slidingWindow() < config.maxPositionEmbeddings()) {
            // NOTE: llama.cpp drops Mistral's and StarCoder2's windows (convert_hf_to_gguf.py) and switches Phi-3's off
            // when it loads
            LOG.warn("{}'s sliding window of {} tokens is not applied by llama.cpp's {} architecture: it attends to "
                    + "the whole context, which differs from this model on sequences longer than the window",
                    config.modelType(), config.slidingWindow(), architecture);
        }
    }

    /**
     * Which layers go without rotary embedding: none, but in llama.cpp's smollm3, whose graph leaves out every 4th
     * layer's (src/models/smollm3.cpp; no key says otherwise), in cohere2 and a 64-layer exaone4, which rotate in their
     * sliding layers only (src/models/cohere2.cpp, exaone4.cpp), and in granite, which rotates every layer or, when
     * {@code rope.scaling.finetuned} is false, none (src/models/granite.cpp, granite-hybrid.cpp).
     */
    private void refuseLayersWithoutRotary() {
        if (isGranite() && !anyRotary()) {
            return;
        }
        boolean smolLm3 = architecture.equals("smollm3");
        boolean slidingOnly = architecture.equals("cohere2") || exaone4Slides();
        List<Integer> differ = IntStream.range(0, config.numHiddenLayers())
                .filter(i -> config.ropeLayers()[i] != (slidingOnly ? config.slidingLayers()[i]
                        : !smolLm3 || (i + 1) % SMOLLM3_NO_ROPE_STEP != 0)).boxed().toList();
        if (!differ.isEmpty()) {
            cannot(smolLm3 ? "layers without rotary embedding other than every " + SMOLLM3_NO_ROPE_STEP + "th (no_rope_layers "
                    + "or no_rope_layer_interval; it leaves out layers 3, 7, 11... only): they differ at layers " + differ
                    : slidingOnly ? "rotary embedding in other layers than the sliding ones (layers " + differ + ")"
                    : "layers without rotary embedding (layers " + differ + ")");
        }
    }

    /** Whether llama.cpp's exaone4 slides (and rotates only) in the layers its pattern lists: at 64 layers alone. */
    private boolean exaone4Slides() {
        return architecture.equals("exaone4") && config.numHiddenLayers() == EXAONE4_SLIDING_LAYERS;
    }

    /**
     * What llama.cpp's exaone4 fixes by depth (src/models/exaone4.cpp): a model of 64 layers (EXAONE 4.0 32B) slides in
     * the layers {@code attention.sliding_window_pattern} lists and rotates in those alone, as transformers does with a
     * window set; a model of any other depth (EXAONE 4.0 1.2B's 30) attends fully and rotates in every layer, as
     * transformers does with {@code sliding_window} null.
     */
    private void refuseWhatExaone4CannotSay() {
        if (exaone4Slides() && !anySliding()) {
            cannot("64 layers without sliding-window layers (at 64 layers its graph slides in the pattern's layers, "
                    + "every 4th full by default, and rotates in those alone)");
        }
        if (!exaone4Slides() && anySliding()) {
            cannot("sliding-window layers in a model of " + config.numHiddenLayers() + " layers (its graph applies the "
                    + "window only at " + EXAONE4_SLIDING_LAYERS + " layers, EXAONE 4.0 32B's; at any other depth every "
                    + "layer attends fully and rotates, as with sliding_window null)");
        }
    }

    /**
     * What llama.cpp's YaRN fixes (ggml's rope, src/llama-context.cpp) for gpt-oss and arcee, which read no key for
     * it: beta_fast 32, beta_slow 1 and the cos/sin scale {@code 0.1 ln(factor) + 1}, the ramp's ends rounded to whole
     * rotary pairs (gpt-oss's are not, which is only warned of: llama.cpp's own conversions of it round them too).
     */
    private void refuseWhatYarnCannotSay(RopeConfig rope) {
        if (rope.betaFast() != YARN_BETA_FAST || rope.betaSlow() != YARN_BETA_SLOW) {
            cannot("YaRN's beta_fast " + rope.betaFast() + " and beta_slow " + rope.betaSlow() + " (it reads no key for "
                    + "them and uses " + YARN_BETA_FAST + " and " + YARN_BETA_SLOW + ")");
        }
        double scale = rope.factor() <= 1 ? 1 : 0.1 * Math.log(rope.factor()) + 1;
        if (!Double.isNaN(rope.attentionFactor()) && Math.abs(rope.attentionFactor() / scale - 1) > 1e-6) {
            cannot("YaRN's attention_factor " + rope.attentionFactor() + " (it scales cos and sin by 0.1 ln(factor) + 1 = "
                    + scale + ")");
        }
        if (!rope.truncate() && isGptOss()) {
            warnOfUnroundedRamp(rope);
        } else if (!rope.truncate()) {
            cannot("YaRN's ramp ends where they fall (truncate false; it rounds them to whole rotary pairs)");
        }
    }

    /**
     * What llama.cpp's olmo2 (OLMo 2 and 3) and olmoe fix (src/models/olmo2.cpp, olmoe.cpp): q_proj and o_proj of the
     * hidden size (its head size is hidden / heads); olmo2's sliding layers rotated with the full layers' base,
     * unscaled; olmoe's k_norm as wide as q_norm, the hidden size, so no fewer key/value heads than query heads.
     */
    private void refuseWhatOlmoCannotSay() {
        if ((long) config.numAttentionHeads() * config.headDim() != config.hiddenSize()) {
            cannot("head_dim " + config.headDim() + " (its heads are hidden_size / num_attention_heads = "
                    + config.hiddenSize() / config.numAttentionHeads() + " wide)");
        }
        if (architecture.equals("olmoe") && config.numKeyValueHeads() != config.numAttentionHeads()) {
            cannot("grouped-query attention (num_key_value_heads " + config.numKeyValueHeads() + " of "
                    + config.numAttentionHeads() + " heads: its k_norm.weight is as wide as the hidden size, "
                    + config.hiddenSize() + ", where this model's is " + (long) config.numKeyValueHeads()
                    * config.headDim() + ")");
        }
        RopeConfig local = config.localRope();
        if (anySliding() && (!local.ropeType().equals("default") || local.ropeTheta() != config.rope().ropeTheta())) {
            cannot("the sliding layers' rotary embedding (rope_type '" + local.ropeType() + "', theta "
                    + local.ropeTheta() + "; it rotates them unscaled with the full layers' theta "
                    + config.rope().ropeTheta() + ")");
        }
    }

    /**
     * What llama.cpp's mixtures fix (src/models/llama.cpp, qwen2moe.cpp, qwen3moe.cpp, olmoe.cpp, qwen35moe.cpp): every
     * layer routes (each requires its {@code ffn_gate_inp}), the k routing weights are renormalised for llama
     * (Mixtral), qwen3moe and qwen35moe and used as they are for qwen2moe and olmoe (none of them reads
     * {@code expert_weights_norm}), qwen2moe and qwen35moe always add their shared expert (qwen35moe.cpp requires its
     * tensors), qwen2moe needs its own output head.
     */
    private void refuseWhatTheMixtureCannotSay(MoeConfig moe) {
        if (moe.numExperts() > MAX_EXPERTS) {
            cannot(moe.numExperts() + " experts per layer (llama.cpp loads at most " + MAX_EXPERTS + ")");
        }
        List<Integer> dense = IntStream.range(0, config.numHiddenLayers()).filter(i -> !moe.isSparse(i)).boxed().toList();
        if (!dense.isEmpty()) {
            cannot("dense MLP layers " + dense + " between the sparse ones (mlp_only_layers or decoder_sparse_step): "
                    + "every layer of its graph routes through experts");
        }
        boolean renormalises = !UNNORMALISED_ROUTING.contains(architecture);
        if (moe.normTopkProb() != renormalises) {
            cannot("norm_topk_prob " + moe.normTopkProb() + " (its graph " + (renormalises ? "always renormalises"
                    : "never renormalises") + " the " + moe.numExpertsPerTok() + " routing weights of a token)");
        }
        if (SHARED_EXPERT_REQUIRED.contains(architecture) && moe.sharedExpertIntermediateSize() == 0) {
            cannot("a mixture without a shared expert (shared_expert_intermediate_size 0; its graph requires one)");
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
     * What llama.cpp's qwen35 and qwen35moe fix (src/models/qwen35.cpp, qwen35moe.cpp): key and value heads of the
     * DeltaNet of one size, its {@code ssm.state_size} (it sizes both from that key), and q/k norms per head in the
     * attention layers (it requires {@code attn_q_norm} and {@code attn_k_norm} of the head size).
     */
    private void refuseWhatQwen35CannotSay() {
        LinearAttentionConfig linear = config.linearAttention();
        if (linear.keyHeadDim() != linear.valueHeadDim()) {
            cannot("linear attention with linear_key_head_dim " + linear.keyHeadDim() + " and linear_value_head_dim "
                    + linear.valueHeadDim() + " (it sizes key and value heads alike, from ssm.state_size)");
        }
        if (config.qkNorm() != DecoderConfig.QkNorm.PER_HEAD) {
            cannot("attention without per-head q/k norms (it requires attn_q_norm and attn_k_norm)");
        }
    }

    /**
     * What llama.cpp's granitehybrid fixes in Granite 4.0 H's Mamba-2 layers (src/models/granite-hybrid.cpp,
     * mamba-base.cpp): the gated norm of the layer's output per group of innerDim / mamba_n_groups channels (transformers
     * normalises the whole inner width, so the two agree only for one group, as in every published Granite 4.0 H), an
     * inner width of twice the hidden size (it asserts that), a convolution with a bias and projections without.
     */
    private void refuseWhatGraniteHybridCannotSay(MambaConfig mamba) {
        if (mamba.numGroups() != 1) {
            cannot("Mamba-2 layers of mamba_n_groups " + mamba.numGroups() + " (llama.cpp's gated norm, mamba.norm, "
                    + "normalises each of the " + mamba.numGroups() + " groups of " + mamba.innerDim() / mamba.numGroups()
                    + " channels apart, where transformers and finetune4j normalise the whole inner width of "
                    + mamba.innerDim() + "; they agree only for mamba_n_groups 1, as in every published Granite 4.0 H)");
        }
        if ((long) mamba.innerDim() != 2L * config.hiddenSize()) {
            cannot("Mamba-2 layers " + mamba.innerDim() + " wide (mamba_expand x hidden_size; it supports only "
                    + "mamba_expand 2, an inner width of " + 2L * config.hiddenSize() + ")");
        }
        if (!mamba.convBias()) {
            cannot("a Mamba-2 convolution without a bias (mamba_conv_bias false; its graph adds ssm_conv1d.bias)");
        }
        if (mamba.projBias()) {
            cannot("Mamba-2 projection biases (mamba_proj_bias true; it has no ssm_in or ssm_out bias)");
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
        boolean big = architecture.equals("gemma2") && config.numHiddenLayers() == 46
                || architecture.equals("gemma3") && config.numHiddenLayers() == 62;
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

    private void cannot(String what) {
        // ONNX export takes no recurrent layer either: such a model is served here
        String instead = config.hasRecurrentLayers() ? "serve it with finetune4j (finetune4j serve)"
                : "export it to ONNX instead (OnnxExporter, finetune4j export-onnx)";
        throw new IllegalArgumentException("GGUF's " + architecture + " architecture cannot express " + what
                + " of this " + config.modelType() + " model, so llama.cpp would compute a different model; " + instead);
    }

    /** The architecture's keys, {@code <arch>.*}. */
    void put(GgufMetadata meta) {
        String a = architecture + ".";
        if (Set.of("llama", "cohere2", "exaone4", "lfm2").contains(architecture)) {
            meta.putUint32(a + "vocab_size", config.vocabSize());
        }
        boolean hybrid = config.mamba() != null;
        RopeConfig rope = config.rope();
        boolean alpha = rope.ropeType().equals("dynamic");
        meta.putUint32(a + "context_length", hybrid && !anyRotary() ? UNBOUNDED_CONTEXT
                        : alpha ? HUNYUAN_ALPHA_CONTEXT : config.maxPositionEmbeddings())
                .putUint32(a + "embedding_length", config.hiddenSize())
                .putUint32(a + "block_count", config.numHiddenLayers());
        if (!architecture.equals("qwen35moe")) {
            // Qwen3.5-MoE has no dense width (its config none, the converter writes none): the experts' keys size it
            meta.putUint32(a + "feed_forward_length", config.intermediateSize());
        }
        meta.putUint32(a + "attention.head_count", config.numAttentionHeads());
        if (hybrid || config.shortConv() != null) {
            // llama.cpp's granitehybrid and lfm2 take a layer without key/value heads for a Mamba-2 or convolution one
            meta.putInt32s(a + "attention.head_count_kv", IntStream.range(0, config.numHiddenLayers())
                    .map(i -> config.isMamba(i) || config.isShortConv(i) ? 0 : config.numKeyValueHeads()).toArray());
        } else {
            meta.putUint32(a + "attention.head_count_kv", config.numKeyValueHeads());
        }
        meta.putUint32(a + "attention.key_length", config.headDim())
                .putUint32(a + "attention.value_length", config.headDim())
                // LayerNorms (Cohere's, StarCoder2's) read their epsilon from its own key
                .putFloat32(a + (config.normKind() != DecoderConfig.NormKind.RMS ? "attention.layer_norm_epsilon"
                        : "attention.layer_norm_rms_epsilon"), config.normEps())
                .putFloat32(a + "rope.freq_base", alpha ? alphaRaisedBase(rope) : rope.ropeTheta())
                .putUint32(a + "rope.dimension_count", config.rotaryDim());
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
        if (isCohere() && rope.ropeType().equals("default")) {
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
        }
        MoeConfig moe = config.moe();
        if (moe != null) {
            // llama (Mixtral) and olmoe size their experts by feed_forward_length, the Qwen mixtures by their own key
            meta.putUint32(a + "expert_count", moe.numExperts())
                    .putUint32(a + "expert_used_count", moe.numExpertsPerTok());
            if (EXPERT_WIDTH_KEY.contains(architecture)) {
                meta.putUint32(a + "expert_feed_forward_length", moe.expertIntermediateSize());
            }
            if (moe.sharedExpertIntermediateSize() > 0) {
                meta.putUint32(a + "expert_shared_feed_forward_length", moe.sharedExpertIntermediateSize());
            }
        }
        if (architecture.equals("gemma2")) {
            meta.putFloat32(a + "attn_logit_softcapping", config.attnLogitSoftcapping());
        }
        if (config.finalLogitSoftcapping() != 0) {
            meta.putFloat32(a + "final_logit_softcapping", config.finalLogitSoftcapping());
        }
        if (isGranite()) {
            // converted from Granite's *_multiplier fields; llama.cpp divides the logits by logit_scale
            Multipliers m = config.multipliers();
            meta.putFloat32(a + "embedding_scale", m.embedding())
                    .putFloat32(a + "residual_scale", m.residual())
                    .putFloat32(a + "attention.scale", config.attentionScale())
                    .putFloat32(a + "logit_scale", m.logitsScaling());
            if (config.modelType().equals("granitemoehybrid")) {
                // Granite 4, as the converter writes it: rotary on or off, and its dense MLP's width once more
                meta.putBool(a + "rope.scaling.finetuned", anyRotary())
                        .putUint32(a + "expert_shared_feed_forward_length", config.intermediateSize());
            }
        }
        if (isCohere()) {
            // llama.cpp multiplies the logits by logit_scale; finetune4j divides them by its inverse
            meta.putFloat32(a + "logit_scale", (float) (1.0 / config.multipliers().logitsScaling()));
        }
        if (hybrid) {
            putMamba(meta, a, config.mamba());
        }
        if (isQwen35()) {
            putLinearAttention(meta, a);
        }
        if (architecture.equals("lfm2")) {
            // required though no layer convolves: an LFM2 of attention layers alone has Lfm2Config's default kernel
            meta.putUint32(a + "shortconv.l_cache", config.shortConv() == null ? LFM2_DEFAULT_KERNEL
                    : config.shortConv().kernel());
        }
        if (anySliding() && !architecture.equals("llama") && !architecture.equals("starcoder2")) {
            meta.putUint32(a + "attention.sliding_window", config.slidingWindow())
                    .putBools(a + "attention.sliding_window_pattern", config.slidingLayers())
                    .putFloat32(a + "rope.freq_base_swa", config.localRope().ropeTheta());
        }
    }

    /**
     * qwen35's keys, as the converter writes them: the DeltaNet's sizes as {@code ssm.*} (conv kernel, state size = key
     * head size, group count = key heads, time-step rank = value heads, inner size = value width), which layers are
     * linear ({@code attention.recurrent_layers}, and {@code full_attention_interval} when they follow one), and the
     * interleaved M-RoPE's sections.
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
        meta.putInt32s(a + "rope.dimension_sections", textRopeSections(config.rotaryDim() / 2));
    }

    /**
     * granitehybrid's keys of the Mamba-2 layers, as the converter writes them: conv kernel, state size, group count,
     * inner size (the heads' width) and time-step rank (the heads).
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
