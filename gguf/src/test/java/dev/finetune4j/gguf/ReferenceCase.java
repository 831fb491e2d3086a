package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The tiny models llama.cpp checked (tools/reference/gguf_llamacpp.sh): a few layers of hidden size 64 with
 * weights drawn from a seeded stream, each with one of core's test tokenizers, exported to one GGUF type. The
 * weights are uniform draws (no transcendental functions), so every JVM builds the same bits and the export's
 * SHA-256 equals the one llama.cpp read.
 *
 * @param name      the fixture's name ({@code src/test/resources/llamacpp/<name>.json})
 * @param config    config.json of the model
 * @param tokenizer core's test tokenizer folder, under {@code tokenizer/}, or {@link #GEMMA_TOKENIZER}
 * @param type      the export's type (of the adapter, for a LoRA case, whose base model is exported in F32)
 * @param lora      whether a LoRA adapter on every projection is exported too, as an adapter GGUF
 * @param imatrix   whether the K-quant export is fitted under an importance matrix collected over {@link #TEXTS}
 * @param seed      the seed of the weights' stream ({@link #DEFAULT_SEED}; a mixture of experts' is chosen so that its
 *                  routers separate each token's k-th and (k+1)-th expert clearly, see {@link RouterMargins})
 */
record ReferenceCase(String name, String config, String tokenizer, GgufType type, boolean lora, boolean imatrix,
                     long seed) {
    /** The seed of the dense cases' weights. */
    static final long DEFAULT_SEED = 42;
    /**
     * The ranges of the recurrent layers' vectors and kernels (by their name within the layer), drawn as their
     * initialisation would put them rather than as a matrix. Qwen3.5's DeltaNet: A_log (decay rates exp(A_log) from
     * 0.37 to 2.7) and dt_bias (time steps softplus(a + dt_bias) near 0.13), so that each head's state fades over a few
     * to a few dozen tokens, and convolution kernels that mix the four last inputs visibly. Granite 4.0 H's Mamba-2
     * likewise: A_log from 0 to 2 (A from -1 to -7.4), dt_bias from -4 to -2 (time steps of 0.02 to 0.13, so that the
     * decays exp(dt A) run from about 0.98 to 0.4), D about 1 as Mamba-2 starts it, convolution kernels as the DeltaNet's
     * (its bias drawn as any bias). LFM2's short convolution kernels likewise, so that its three taps mix visibly.
     * Gemma 4's layer_scalar about 1 (its initial value), so that no layer's output all but vanishes; its router's
     * per-expert scale about 1 likewise (its initial value), and its scale about 8, the sqrt(C) of the cases' 64 that
     * undoes the router's 1/sqrt(C), so that its logits spread as the other wide routers' ({@link #WIDE_ROUTER_RANGE}).
     */
    private static final Map<String, double[]> LAYER_RANGES = Map.ofEntries(
            Map.entry("linear_attn.A_log", new double[] {-1, 1}), Map.entry("linear_attn.dt_bias", new double[] {-3, -1}),
            Map.entry("linear_attn.conv1d.weight", new double[] {-0.5, 0.5}), Map.entry("mamba.A_log", new double[] {0, 2}),
            Map.entry("mamba.dt_bias", new double[] {-4, -2}), Map.entry("mamba.D", new double[] {0.5, 1.5}),
            Map.entry("mamba.conv1d.weight", new double[] {-0.5, 0.5}),
            Map.entry("conv.conv.weight", new double[] {-0.5, 0.5}), Map.entry("layer_scalar", new double[] {0.5, 1.5}),
            Map.entry("router.scale", new double[] {6, 10}),
            Map.entry("router.per_expert_scale", new double[] {0.5, 1.5}));
    /**
     * Gemma 4's q/k norms, about 1/2: its scores are not scaled by 1/sqrt(d), so norms about 1 would make them about
     * sqrt(d) times a scaled attention's, each softmax nearly one-hot and the logits as sensitive to any rounding;
     * these take the scale into the norms, as a trained Gemma 4's must (a product of 1/4, 1/sqrt(16)).
     */
    private static final double[] GEMMA4_QK_NORM_RANGE = {0.4, 0.6};
    private static final Pattern LAYER_PREFIX = Pattern.compile("^model\\.(?:language_model\\.)?layers\\.\\d+\\.");
    /**
     * The seeds of the GLM-4.5 and ERNIE-4.5-MoE cases' weights, whose routers separate each token's experts (and
     * GLM-4.5's groups) clearly in every type and with the LoRA adapter, whose selection bias (and GLM-4.5's group
     * limit) change some token's experts, and whose small models route some token to every expert (the wide ones leave
     * a few of their 24 unchosen).
     */
    static final long GLM4_MOE_SEED = 235;
    static final long GLM4_MOE_WIDE_SEED = 73;
    static final long ERNIE45_MOE_SEED = 1018;
    static final long ERNIE45_MOE_WIDE_SEED = 127;
    /**
     * The seeds of the DeepSeek cases' weights, whose routers separate each token's experts (and V3's groups) clearly in
     * every type and with the LoRA adapter, and whose V3 selection bias and group limit change some token's experts.
     */
    static final long DEEPSEEK_V3_SEED = 156;
    static final long DEEPSEEK_V3_LITE_SEED = 6;
    static final long DEEPSEEK_V2_SEED = 500;
    static final long DEEPSEEK_V3_WIDE_SEED = 170;
    /**
     * The seeds of the Mistral 4 cases' weights. Few seeds route the 19 tokens to all 8 experts with clear margins: of
     * seeds 1 to 3000, 209 alone keeps every token's experts and groups 0.015 apart as trained (0.039) and as Q8_0
     * stores it (0.018), its group limit changing two tokens' experts, but its LoRA adapter brings one token within
     * 0.012; the LoRA case's 740 routes clearly with the adapter (0.059).
     */
    static final long MISTRAL4_SEED = 209;
    static final long MISTRAL4_LORA_SEED = 740;
    /** The seeds of the Qwen3-Next cases' weights (the lossy one's norms differ), whose routers separate clearly. */
    static final long QWEN3_NEXT_SEED = 1009;
    static final long QWEN3_NEXT_LOSSY_SEED = 698;
    static final long QWEN3_NEXT_WIDE_SEED = 531;
    /** The seed of the wide Qwen3.5-MoE case's weights, whose routers separate clearly as trained and as stored. */
    static final long QWEN35_MOE_WIDE_SEED = 1316;
    /** The seed of the Nemotron-H mixture case's weights, whose routers separate each token's experts clearly. */
    private static final long NEMOTRON_H_MOE_SEED = 59;
    /**
     * The seed of the Gemma 4 mixture cases' weights: of seeds 1 to 150, 37 keeps every token's experts clearest apart
     * in its 100 top-2 choices (20 tokens, 5 layers), 0.063 as trained and 0.087 as Q8_0 stores them, routing some token
     * to every expert.
     */
    static final long GEMMA4_MOE_SEED = 37;
    /**
     * The seed of the Gemma 4 mixture's LoRA case, whose adapter (on router.proj too) moves the routing: with seed 37 a
     * choice ties within 5e-5; of seeds 1 to 300, 244 keeps the base with its adapter clearest apart (0.141).
     */
    static final long GEMMA4_MOE_LORA_SEED = 244;
    /**
     * The seed of the wide Gemma 4 mixture's weights: of seeds 1 to 120, three keep every token's experts 0.015 apart
     * both as trained and as Q4_K_M stores them; of those, 95 (0.029 and 0.020) routes alike in both, its logits moved
     * 0.85 by the rounding, where 11's and 94's moved 1.8 and 1.6 (some choice changed). Every expert is chosen.
     */
    static final long GEMMA4_MOE_WIDE_SEED = 95;
    /** The seed of the gpt-oss cases' weights, whose routers separate each token's experts clearly. */
    static final long GPT_OSS_SEED = 21;
    /**
     * The range of gpt-oss's gate_up_proj: uniform in [-r, r) over 64 inputs of about unit size gives gate and up
     * values of standard deviation about 4.6 r, so that many pass the SwiGLU's clamp at 7.
     */
    private static final double GPT_OSS_GATE_UP_RANGE = 1.2;
    /**
     * The range of Qwen3.5-MoE's, GLM-4.5's and ERNIE-4.5-MoE's routers: router logits of standard deviation about 2.8
     * (4 times the other matrices'), so that a seed whose choices all clear the least margin LlamaCppReferenceTest asks
     * can be found: Qwen3.5-MoE's 292 top-2 choices (73 tokens, 4 layers), and GLM-4.5's and ERNIE's, whose sigmoid
     * scores and probabilities plus a selection bias follow their logits up to 4 times more slowly (GLM-4.5's also
     * choosing groups), as the other mixtures' 20 tokens and 2 layers allow unscaled. Rounding moves these logits 4
     * times as much too: the margin checked is no stronger guard here than there. Scaled as the matrices are for the
     * wide models.
     */
    private static final double WIDE_ROUTER_RANGE = 0.6;
    /** The model types whose routers are drawn from {@link #WIDE_ROUTER_RANGE}. */
    private static final Set<String> WIDE_ROUTER_TYPES = Set.of("qwen3_5_moe_text", "glm4_moe", "ernie4_5_moe",
            "deepseek_v3", "deepseek_v2", "qwen3_next", "mistral4", "gemma4_text");
    /**
     * The range of ERNIE-4.5-MoE's selection bias, on the scale of its routing probabilities (about 1/8 each for 8
     * experts), so that it moves some tokens' experts without deciding them all.
     */
    private static final double ERNIE_SELECTION_BIAS_RANGE = 0.05;
    /** The range of gpt-oss's sink logits, wide enough that each head's sink takes a visible share of its attention. */
    private static final double SINK_RANGE = 1.5;
    /** Texts whose tokenization llama.cpp and finetune4j must agree on: ASCII, Chinese, emoji, special tokens. */
    static final List<String> TEXTS = List.of("Hello world, hello 12 worlds!", "你好，世界", "I like 🦙 and 🚀 :)",
            "<|im_start|>user hello<|im_end|>", "<s>hello</s> world", "  two  spaces\tand a tab");
    /** The text whose tokens (with the tokenizer's special tokens) the logits are computed for. */
    static final String LOGITS_TEXT = "Hello world, hello 你好 🦙!";
    /**
     * The text of a model with linear attention: long enough (over 64 tokens of the byte-level BPE) that llama.cpp's
     * chunked delta rule, in chunks of 64 tokens, carries its state across a chunk.
     */
    static final String RECURRENT_LOGITS_TEXT = "Hello world, hello 你好 🦙! The quick brown fox jumps over the lazy dog "
            + "once again.";

    private static final String LLAMA = """
            {"model_type": "llama", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 32}}""";
    private static final String QWEN2 = """
            {"model_type": "qwen2", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true}""";
    private static final String QWEN3 = """
            {"model_type": "qwen3", "vocab_size": 270, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "tie_word_embeddings": false}""";
    private static final String GPT2 = """
            {"model_type": "gpt2", "vocab_size": 270, "n_positions": 128, "n_embd": 64, "n_layer": 2, "n_head": 4,
             "n_inner": 128, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}""";
    /**
     * Phi-3 with partial rotary (12 of 16 dimensions) and longrope; the 2048 original positions keep the short
     * factors in both (llama.cpp switches to the long ones by context size, finetune4j by position).
     */
    private static final String PHI3 = """
            {"model_type": "phi3", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 4096, "original_max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "partial_rotary_factor": 0.75, "tie_word_embeddings": false,
             "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5],
                              "long_factor": [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]}}""";
    /** The same Phi-3 pretrained on 16 positions: the 20 of the test run with the long factors in both. */
    private static final String PHI3_LONG = PHI3.replace("\"original_max_position_embeddings\": 2048",
            "\"original_max_position_embeddings\": 16");
    private static final String GEMMA = """
            {"model_type": "gemma", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "hidden_activation": "gelu_pytorch_tanh"}""";
    /** Small soft caps and a window of 4, so that the caps bend the logits and the window cuts the 21 positions. */
    private static final String GEMMA2 = """
            {"model_type": "gemma2", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "query_pre_attn_scalar": 16, "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
             "rope_theta": 10000.0, "attn_logit_softcapping": 5.0, "final_logit_softcapping": 2.0,
             "sliding_window": 4, "hidden_activation": "gelu_pytorch_tanh"}""";
    /**
     * Qwen3.5's language model: three gated DeltaNet layers (2 key heads, each serving 2 of the 4 value heads, so that
     * the converter's regrouping of value heads bites), then a gated attention layer with q/k norms and a rotary
     * embedding over 8 of its 32 dimensions (interleaved M-RoPE, all three positions the token's index).
     */
    private static final String QWEN35 = """
            {"model_type": "qwen3_5_text", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
             "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
             "layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention"],
             "linear_conv_kernel_dim": 4, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
             "linear_key_head_dim": 16, "linear_value_head_dim": 16, "partial_rotary_factor": 0.25,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25,
                                 "mrope_section": [2, 1, 1], "mrope_interleaved": true}}""";
    /**
     * Qwen3.5 for the lossy types, its RMSNorms' epsilon 1e-2. NOTE: with 1e-6, each DeltaNet head's RMSNorm of its
     * output, which often nearly cancels, amplifies rounding about ten times more than the dense models do (Q8_0's
     * weights alone moved the logits by up to 0.59, llama.cpp's Q8_0 activations by as much again); an epsilon near
     * the outputs' mean square damps that to the dense models' scale, so the lossy types' bounds still tell a right
     * block layout from a wrong one. llama.cpp reads the epsilon from the file (it also bounds its L2 norms of queries
     * and keys by it, where transformers adds 1e-6: alike while their norms stay far above 1e-2).
     */
    private static final String QWEN35_LOSSY = QWEN35.replace("\"rms_norm_eps\": 1e-6", "\"rms_norm_eps\": 1e-2");
    /**
     * Qwen3.5 wide enough for K-quants (rows of 256 and 512), its head tied: layers 2 and 3 get Q4_K_M's extra bits
     * (attn_qkv counted as a value projection, as llama-quantize counts it).
     */
    private static final String QWEN35_WIDE = QWEN35_LOSSY.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"head_dim\": 32", "\"head_dim\": 64")
            .replace("\"linear_key_head_dim\": 16, \"linear_value_head_dim\": 16",
                    "\"linear_key_head_dim\": 64, \"linear_value_head_dim\": 64")
            .replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
    /**
     * Qwen3.5-MoE's language model: Qwen3.5's layers above, each with 4 experts of width 32 (2 per token, renormalised)
     * and a shared expert of 48 gated by sigmoid(shared_expert_gate); no dense width (its config has none).
     */
    private static final String QWEN35_MOE = QWEN35.replace("\"qwen3_5_text\"", "\"qwen3_5_moe_text\"").replace(
            "\"intermediate_size\": 128", "\"moe_intermediate_size\": 32, \"shared_expert_intermediate_size\": 48, "
                    + "\"num_experts\": 4, \"num_experts_per_tok\": 2");
    /** Qwen3.5-MoE for the lossy types, its RMSNorms' epsilon 1e-2 as {@link #QWEN35_LOSSY}'s. */
    private static final String QWEN35_MOE_LOSSY = QWEN35_MOE.replace("\"rms_norm_eps\": 1e-6",
            "\"rms_norm_eps\": 1e-2");
    /** Qwen3.5-MoE wide enough for K-quants, as {@link #QWEN3_NEXT_WIDE}. */
    private static final String QWEN35_MOE_WIDE = QWEN35_MOE_LOSSY.replace(
            "\"hidden_size\": 64, \"moe_intermediate_size\": 32, \"shared_expert_intermediate_size\": 48",
            "\"hidden_size\": 256, \"moe_intermediate_size\": 256, \"shared_expert_intermediate_size\": 256")
            .replace("\"head_dim\": 32", "\"head_dim\": 64")
            .replace("\"linear_key_head_dim\": 16, \"linear_value_head_dim\": 16",
                    "\"linear_key_head_dim\": 64, \"linear_value_head_dim\": 64")
            .replace("\"num_hidden_layers\": 4", "\"num_hidden_layers\": 2")
            .replaceAll("\"layer_types\": \\[[^]]*]", "\"layer_types\": [\"linear_attention\", \"full_attention\"]");
    /**
     * Qwen3-Next (qwen3_next; GGUF architecture qwen3next), shaped as core's references/qwen3_next but 64 wide, with key
     * and value heads of one size (llama.cpp sizes both from ssm.state_size) and every layer sparse (its graph routes
     * every layer): DeltaNet layers 0 and 2 with the fused in_proj_qkvz and in_proj_ba (2 key heads, each serving 2 of
     * the 4 value heads), gated attention layers 1 and 3 with q/k norms and a rotary embedding of halves over 8 of
     * their 32 dimensions; 4 experts of width 32, 2 per token renormalised, a shared expert of 48 gated by
     * sigmoid(shared_expert_gate).
     */
    private static final String QWEN3_NEXT = """
            {"model_type": "qwen3_next", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48, "num_experts": 4,
             "num_experts_per_tok": 2, "norm_topk_prob": true, "decoder_sparse_step": 1, "num_hidden_layers": 4,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "max_position_embeddings": 256,
             "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
             "layer_types": ["linear_attention", "full_attention", "linear_attention", "full_attention"],
             "linear_conv_kernel_dim": 4, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
             "linear_key_head_dim": 16, "linear_value_head_dim": 16, "partial_rotary_factor": 0.25,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25}}""";
    /** Qwen3-Next for the lossy types, its RMSNorms' epsilon 1e-2 as {@link #QWEN35_LOSSY}'s. */
    private static final String QWEN3_NEXT_LOSSY = QWEN3_NEXT.replace("\"rms_norm_eps\": 1e-6", "\"rms_norm_eps\": 1e-2");
    /**
     * Qwen3-Next wide enough for K-quants: rows of 256 in every matrix (heads of 64, experts and the shared expert of
     * 256), the lossy epsilon; attn_qkv of the DeltaNet layers counted with the attention layers' attn_v as value
     * projections, as llama-quantize counts them.
     */
    private static final String QWEN3_NEXT_WIDE = QWEN3_NEXT_LOSSY.replace(
            "\"hidden_size\": 64, \"intermediate_size\": 96", "\"hidden_size\": 256, \"intermediate_size\": 512")
            .replace("\"moe_intermediate_size\": 32, \"shared_expert_intermediate_size\": 48",
                    "\"moe_intermediate_size\": 256, \"shared_expert_intermediate_size\": 256")
            .replace("\"head_dim\": 32", "\"head_dim\": 64")
            .replace("\"linear_key_head_dim\": 16, \"linear_value_head_dim\": 16",
                    "\"linear_key_head_dim\": 64, \"linear_value_head_dim\": 64")
            .replace("\"num_hidden_layers\": 4", "\"num_hidden_layers\": 2")
            .replaceAll("\"layer_types\": \\[[^]]*]", "\"layer_types\": [\"linear_attention\", \"full_attention\"]");
    /** Gemma 3 with its own layer pattern, local rotary base, linear scaling of the global layers and an lm_head. */
    private static final String GEMMA3 = """
            {"model_type": "gemma3_text", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
             "query_pre_attn_scalar": 16, "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
             "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
             "rope_scaling": {"rope_type": "linear", "factor": 2.0}, "sliding_window": 4,
             "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
             "tie_word_embeddings": false, "hidden_activation": "gelu_pytorch_tanh"}""";
    /**
     * Gemma 4's language model (GGUF architecture gemma4), every dense feature on: sliding layers 0, 1 and 3 (4 query
     * heads of 16, 2 key/value heads, a window of 4 over the 19 tokens) and full layers 2 and 4 (heads of 32, one
     * key/value head whose values are its keys' projection, attention_k_eq_v, and the "proportional" rotary over 4 of
     * their 16 pairs at another base), per-layer inputs of 8, the last 2 layers kv-shared (layer 3 reads layer 1's keys
     * and values, layer 4 layer 2's) with MLPs twice as wide (use_double_wide_mlp), a final soft cap of 3 that bends the
     * logits, norms scaling by their weight (not 1 + w), layer_scalar, the head tied.
     */
    private static final String GEMMA4 = """
            {"model_type": "gemma4_text", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 5, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "global_head_dim": 32, "num_global_key_value_heads": 1, "attention_k_eq_v": true,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "sliding_window": 4,
             "layer_types": ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention",
                             "full_attention"],
             "rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                 "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                                                    "rope_theta": 1000000.0}},
             "hidden_size_per_layer_input": 8, "vocab_size_per_layer_input": 371, "num_kv_shared_layers": 2,
             "use_double_wide_mlp": true, "final_logit_softcapping": 3.0, "tie_word_embeddings": true,
             "hidden_activation": "gelu_pytorch_tanh"}""";
    /**
     * Gemma 4's mixture beside the MLP (gemma-4-26B-A4B's {@code enable_moe_block}) in every layer of {@link #GEMMA4}:
     * 4 experts of 16 (GeGLU, stacked), 2 per token.
     */
    static final String GEMMA4_MOE = GEMMA4.replace("\"use_double_wide_mlp\": true,", "\"use_double_wide_mlp\": true, "
            + "\"enable_moe_block\": true, \"num_experts\": 4, \"top_k_experts\": 2, \"moe_intermediate_size\": 16,");
    /**
     * Gemma 4 wide enough for K-quants: {@link #GEMMA4}'s layers 256 wide (MLPs of 512, 1024 in the kv-shared layers),
     * sliding heads of 64 and full heads of 128, per-layer inputs of 256 (per_layer_token_embd's rows 5 x 256, so that
     * the tied head's Q6_K reaches it too). Only layers 0 and 1 hold a value projection (layer 2's values are its keys,
     * layers 3 and 4 share earlier caches): llama-quantize counts those two, so Q4_K_M gives layer 1's Q6_K, where
     * layer 1 of 5 would not get it.
     */
    private static final String GEMMA4_WIDE = GEMMA4.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"head_dim\": 16", "\"head_dim\": 64")
            .replace("\"global_head_dim\": 32", "\"global_head_dim\": 128")
            .replace("\"hidden_size_per_layer_input\": 8", "\"hidden_size_per_layer_input\": 256");
    /** {@link #GEMMA4_WIDE} with {@link #GEMMA4_MOE}'s mixture beside each MLP, its 4 experts 256 wide. */
    private static final String GEMMA4_MOE_WIDE = GEMMA4_WIDE.replace("\"use_double_wide_mlp\": true,",
            "\"use_double_wide_mlp\": true, \"enable_moe_block\": true, \"num_experts\": 4, \"top_k_experts\": 2, "
                    + "\"moe_intermediate_size\": 256,");
    /**
     * Models wide enough for K-quants (rows of 256, whole super-blocks): Llama of 8 layers, so that
     * {@link KQuantMix#useMoreBits} picks layers 0, 3, 6 and 7; Qwen2 with tied embeddings (the head's type goes to
     * token_embd) and an MLP of 320, whose down projection's rows fall back to a 32-value type; Phi-3's fused qkv
     * (counted as a value projection) and an MLP of 272, whose down rows are not whole blocks of 32 either (F16).
     */
    private static final String LLAMA_WIDE = LLAMA.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 8");
    /**
     * {@link #LLAMA_WIDE} with one key/value head for its 4 query heads: the grouped-query attention of 4 for which the
     * IQ4 mixes give the value projections Q5_K and IQ3_S Q4_K.
     */
    private static final String LLAMA_WIDE_GQA4 = LLAMA_WIDE.replace("\"num_key_value_heads\": 2",
            "\"num_key_value_heads\": 1");
    private static final String QWEN2_WIDE = QWEN2.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 320").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4");
    /** GPT-2: fused c_attn (attn_qkv), Conv1D weights written transposed, the head tied to the embedding. */
    private static final String GPT2_WIDE = GPT2.replace("\"n_embd\": 64", "\"n_embd\": 256")
            .replace("\"n_inner\": 128", "\"n_inner\": 512").replace("\"n_layer\": 2", "\"n_layer\": 4");
    /** Gemma 3: norms stored as 1 + w, four norms per layer, the head tied to the embedding. */
    private static final String GEMMA3_WIDE = GEMMA3.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"tie_word_embeddings\": false",
            "\"tie_word_embeddings\": true");
    private static final String PHI3_WIDE = """
            {"model_type": "phi3", "vocab_size": 371, "hidden_size": 256, "intermediate_size": 272,
             "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "tie_word_embeddings": false}""";
    /** Mixtral (GGUF architecture llama): 4 experts of width 64, each token routed to 2, its weights renormalised. */
    private static final String MIXTRAL = """
            {"model_type": "mixtral", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-5, "rope_theta": 1000000.0, "num_local_experts": 4, "num_experts_per_tok": 2,
             "tie_word_embeddings": false}""";
    /** Qwen2-MoE: q/k/v biases, 4 experts of width 64 (2 per token, not renormalised), a shared expert of 96. */
    private static final String QWEN2_MOE = """
            {"model_type": "qwen2_moe", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "moe_intermediate_size": 64, "shared_expert_intermediate_size": 96, "num_experts": 4,
             "num_experts_per_tok": 2, "norm_topk_prob": false, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
             "rope_theta": 1000000.0, "tie_word_embeddings": false}""";
    /** Qwen3-MoE: q/k norms, head_dim 32, 4 experts of width 64 (2 per token, renormalised), the head tied. */
    private static final String QWEN3_MOE = """
            {"model_type": "qwen3_moe", "vocab_size": 270, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 64, "num_experts": 4, "num_experts_per_tok": 2, "norm_topk_prob": true,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "tie_word_embeddings": true}""";
    /**
     * Mixtral with 8 experts, for llama.cpp's Mixtral rules (Q8_0 key and value projections, Q5_K attention outputs);
     * the stacked down projections of layer 1 (the last eighth) take Q6_K.
     */
    private static final String MIXTRAL_WIDE = MIXTRAL.replace("\"hidden_size\": 64, \"intermediate_size\": 64",
            "\"hidden_size\": 256, \"intermediate_size\": 256").replace("\"num_local_experts\": 4",
            "\"num_local_experts\": 8");
    /**
     * Qwen2-MoE with rows of 256 and 512 in its stacked experts, its shared expert's down rows 320 (Q4_K falls back to
     * Q5_0).
     */
    private static final String QWEN2_MOE_WIDE = QWEN2_MOE.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"moe_intermediate_size\": 64",
            "\"moe_intermediate_size\": 512").replace("\"shared_expert_intermediate_size\": 96",
            "\"shared_expert_intermediate_size\": 320");
    /**
     * Granite: its four multipliers far from 1 and from the default attention scale (1/sqrt(16) = 0.25), Llama 3's rope
     * scaling (granite reads rope_freqs as llama does), the head tied.
     */
    private static final String GRANITE = """
            {"model_type": "granite", "vocab_size": 371, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": true, "embedding_multiplier": 6.0,
             "residual_multiplier": 0.22, "attention_multiplier": 0.5, "logits_scaling": 3.0,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 32}}""";
    /**
     * Granite 4 (granitemoehybrid, attention-only and dense; GGUF architecture granite): Granite's four multipliers, the
     * fused shared_mlp.input_linear of 2 x 96 rows (shared_intermediate_size, not the unused intermediate_size), the
     * head tied.
     */
    private static final String GRANITE4 = """
            {"model_type": "granitemoehybrid", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "shared_intermediate_size": 96, "num_local_experts": 0, "layer_types": ["attention", "attention"],
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "position_embedding_type": "rope",
             "tie_word_embeddings": true, "embedding_multiplier": 6.0, "residual_multiplier": 0.22,
             "attention_multiplier": 0.5, "logits_scaling": 3.0}""";
    /** The same Granite 4 without position encoding (position_embedding_type null): rope.scaling.finetuned false. */
    private static final String GRANITE4_NOPE = GRANITE4.replace("\"position_embedding_type\": \"rope\"",
            "\"position_embedding_type\": null");
    /** Granite 4 wide enough for K-quants: 4 layers of 256, input_linear's parts 512 rows each. */
    private static final String GRANITE4_WIDE = GRANITE4.replace("\"hidden_size\": 64", "\"hidden_size\": 256")
            .replace("\"shared_intermediate_size\": 96", "\"shared_intermediate_size\": 512")
            .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 4")
            .replace("[\"attention\", \"attention\"]", "[\"attention\", \"attention\", \"attention\", \"attention\"]");
    /**
     * Granite 4.0 H (granitemoehybrid with Mamba-2 layers; GGUF architecture granitehybrid), as published: no position
     * encoding ("nope"), one group of B and C (mamba_n_groups 1, where llama.cpp's per-group gated norm is transformers'
     * whole-width one), layer 1 attention and layers 0, 2 and 3 Mamba-2 (8 heads of 16, a state of 16, a kernel of 4
     * with biases), Granite's four multipliers, the dense shared_mlp of 96 and the head tied.
     */
    private static final String GRANITE4_H = """
            {"model_type": "granitemoehybrid", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "shared_intermediate_size": 96, "num_local_experts": 0,
             "layer_types": ["mamba", "attention", "mamba", "mamba"], "num_hidden_layers": 4,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
             "position_embedding_type": "nope", "tie_word_embeddings": true, "embedding_multiplier": 6.0,
             "residual_multiplier": 0.22, "attention_multiplier": 0.5, "logits_scaling": 3.0, "mamba_n_heads": 8,
             "mamba_d_head": 16, "mamba_expand": 2, "mamba_n_groups": 1, "mamba_d_state": 16, "mamba_d_conv": 4,
             "mamba_conv_bias": true, "mamba_proj_bias": false, "mamba_chunk_size": 8}""";
    /**
     * Granite 4.0 H wide enough for K-quants (rows of 256 and 512): its one attention layer (layer 1) is the first and
     * last of the value projections llama-quantize counts, so Q4_K_M gives it Q6_K, as layer 1 of 4 would not get.
     */
    private static final String GRANITE4_H_WIDE = GRANITE4_H.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"shared_intermediate_size\": 96",
            "\"shared_intermediate_size\": 512").replace("\"mamba_d_head\": 16", "\"mamba_d_head\": 64");
    /** OLMo 2: norms after each sub-block, q/k norms over the whole projection (64 and 32 wide). */
    private static final String OLMO2 = """
            {"model_type": "olmo2", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "tie_word_embeddings": false}""";
    /** OLMo 3 (GGUF architecture olmo2): OLMo 2's layers, a window of 4 in all but every 4th (layers 0 to 2). */
    private static final String OLMO3 = OLMO2.replace("\"olmo2\"", "\"olmo3\"").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4").replace("\"tie_word_embeddings\": false",
            "\"tie_word_embeddings\": false, \"sliding_window\": 4");
    /** SmolLM3: 4 layers, the last without rotary embedding (no_rope_layer_interval 4 by default), the head tied. */
    private static final String SMOLLM3 = """
            {"model_type": "smollm3", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 1, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0}""";
    /** OLMo 2 wide enough for K-quants: 4 layers of 256, an MLP of 512. */
    private static final String OLMO2_WIDE = OLMO2.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4");
    /**
     * OLMoE: q/k norms over the whole projection (as many key/value heads as query heads, which llama.cpp's olmoe
     * requires), 4 experts as wide as intermediate_size, 2 per token, their routing weights not renormalised.
     */
    private static final String OLMOE = """
            {"model_type": "olmoe", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 64, "num_experts": 4,
             "num_experts_per_tok": 2, "norm_topk_prob": false, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "tie_word_embeddings": false}""";
    /** OLMoE wide enough for K-quants: rows of 256 in every matrix, the stacked experts' too. */
    private static final String OLMOE_WIDE = OLMOE.replace("\"hidden_size\": 64, \"intermediate_size\": 64",
            "\"hidden_size\": 256, \"intermediate_size\": 256");
    /**
     * gpt-oss: q/k/v/o biases, sinks, a window of 4 on layer 0 and full attention on layer 1, YaRN as gpt-oss's (factor
     * 32 over 4,096 positions, theta 150,000: its ramp between rotary pairs 2 and 5) but with its ends rounded
     * ({@code truncate: true}), as llama.cpp rounds them; 4 experts of width 64, 2 per token. Its experts' gate_up_proj
     * is drawn wide enough that the SwiGLU's clamp at 7 bites.
     */
    private static final String GPT_OSS = """
            {"model_type": "gpt_oss", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "num_local_experts": 4, "num_experts_per_tok": 2, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
             "sliding_window": 4, "layer_types": ["sliding_attention", "full_attention"], "tie_word_embeddings": false,
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                                 "beta_slow": 1.0, "original_max_position_embeddings": 4096, "truncate": true}}""";
    /**
     * GLM (GGUF architecture chatglm): q/k/v biases, a rotary embedding over the first 8 of each head's 16 dimensions
     * in adjacent pairs, the fused gate_up_proj (written as one ffn_up), GLM's RMSNorm epsilon.
     */
    private static final String GLM = """
            {"model_type": "glm", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1.5625e-07, "attention_bias": true,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5},
             "tie_word_embeddings": false}""";
    /** GLM-4: GLM's layers with four norms each (after the attention and after the MLP too), the head tied. */
    private static final String GLM4 = GLM.replace("\"glm\"", "\"glm4\"").replace("\"tie_word_embeddings\": false",
            "\"tie_word_embeddings\": true");
    /** ERNIE 4.5: a rotary embedding of adjacent pairs over whole heads, no biases (use_bias false), the head tied. */
    private static final String ERNIE45 = """
            {"model_type": "ernie4_5", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "use_bias": false, "rope_theta": 10000.0,
             "tie_word_embeddings": true}""";
    /**
     * GLM-4.5 (glm4_moe; GGUF architecture glm4moe), shaped as core's references/glm4_moe: q/k/v biases, per-head q/k
     * norms, a rotary embedding over the first half of each head in halves, layer 0 dense and layers 1 and 2 sparse,
     * 8 experts of width 32 in 4 groups of 2, of which each token keeps 2 and picks 2 experts, scored by a sigmoid,
     * picked by the score plus e_score_correction_bias, renormalised and scaled by 2.5, one shared expert.
     */
    private static final String GLM4_MOE = """
            {"model_type": "glm4_moe", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 4,
             "topk_group": 2, "n_shared_experts": 1, "norm_topk_prob": true, "routed_scaling_factor": 2.5,
             "first_k_dense_replace": 1, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 16, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "attention_bias": true,
             "use_qk_norm": true, "tie_word_embeddings": false,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}}""";
    /**
     * ERNIE-4.5-MoE (ernie4_5_moe; GGUF architecture ernie4_5-moe), shaped as core's references/ernie4_5_moe but without
     * biases (llama.cpp's graph adds none but q, k and v's, use_bias false): rotary in adjacent pairs, layer 0 dense and
     * layers 1 and 2 sparse, 8 experts of width 32, 2 per token picked by the softmax plus the moe_statics bias and
     * renormalised, one shared expert.
     */
    private static final String ERNIE45_MOE = """
            {"model_type": "ernie4_5_moe", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 32, "moe_num_experts": 8, "moe_k": 2, "moe_num_shared_experts": 1,
             "moe_layer_start_index": 1, "moe_layer_end_index": 2, "moe_layer_interval": 1, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-5, "use_bias": false, "rope_theta": 10000.0, "tie_word_embeddings": false}""";
    /**
     * GLM-4.5 wide enough for K-quants: layer 0 dense and layer 1 sparse, of 256 (heads of 64, experts of 256). NOTE: a
     * sparse layer more made its routing, scaled by 2.5, tip under Q4_K's rounding in every seed tried (the model as
     * trained 1.2 to 2.1 from llama.cpp's logits, or one position 0.53 with the weights as stored).
     */
    private static final String GLM4_MOE_WIDE = GLM4_MOE.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"moe_intermediate_size\": 32",
            "\"moe_intermediate_size\": 256").replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2")
            .replace("\"head_dim\": 16", "\"head_dim\": 64");
    /** ERNIE-4.5-MoE wide enough for K-quants: 4 layers of 256 (layer 0 dense), heads of 64, experts of 256. */
    private static final String ERNIE45_MOE_WIDE = ERNIE45_MOE.replace(
            "\"hidden_size\": 64, \"intermediate_size\": 96", "\"hidden_size\": 256, \"intermediate_size\": 512")
            .replace("\"moe_intermediate_size\": 32", "\"moe_intermediate_size\": 256")
            .replace("\"moe_layer_end_index\": 2", "\"moe_layer_end_index\": 3")
            .replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4").replace("\"head_dim\": 16", "\"head_dim\": 64");
    /**
     * DeepSeek-V3 (deepseek_v3; GGUF architecture deepseek2), shaped as core's references/deepseek_v3 but 64 wide and its
     * latent sizes whole Q8_0 blocks: the queries through a bottleneck of 32 (q_a_proj, q_a_layernorm, q_b_proj), a
     * key/value latent of 32, heads of 32 dimensions without position and 16 rotated in adjacent pairs (rope_interleave),
     * values of 32; YaRN as published (factor 4 over 16 positions, mscale and mscale_all_dim 1, so that the softmax is
     * scaled by (0.1 ln 4 + 1)^2); layer 0 dense, layers 1 and 2 routing as GLM-4.5's (a sigmoid router whose pick adds
     * e_score_correction_bias within the best 2 of 4 groups, 2 of 8 experts of 32, renormalised and scaled by 2.5, one
     * shared expert); one multi-token-prediction layer in its config, which neither the model nor the file holds.
     */
    private static final String DEEPSEEK_V3 = """
            {"model_type": "deepseek_v3", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 4,
             "topk_group": 2, "n_shared_experts": 1, "norm_topk_prob": true, "routed_scaling_factor": 2.5,
             "first_k_dense_replace": 1, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
             "q_lora_rank": 32, "kv_lora_rank": 32, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "attention_bias": false, "rope_interleave": true,
             "num_nextn_predict_layers": 1, "tie_word_embeddings": false,
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "mscale": 1.0,
                                 "mscale_all_dim": 1.0, "original_max_position_embeddings": 16, "beta_fast": 32,
                                 "beta_slow": 1}}""";
    /**
     * DeepSeek-V3 wide enough for K-quants: rows of 256 in every matrix but attn_k_b's, whose rows are a head's 64 key
     * dimensions without position (Q4_K falls back to Q5_0 there, as llama-quantize does); 8 experts, so that
     * llama.cpp's rules for 8 experts (attn_output in Q5_K) apply; layer 0 dense and layer 1 sparse (with a second
     * sparse layer no seed below 3000 kept every token's experts 0.04 apart with the weights as stored, and the seeds of
     * 0.02 and 0.036 each had one token routed otherwise under llama.cpp's rounding of the activations).
     */
    private static final String DEEPSEEK_V3_WIDE = DEEPSEEK_V3
            .replace("\"hidden_size\": 64, \"intermediate_size\": 96", "\"hidden_size\": 256, \"intermediate_size\": 512")
            .replace("\"moe_intermediate_size\": 32", "\"moe_intermediate_size\": 256")
            .replace("\"q_lora_rank\": 32, \"kv_lora_rank\": 32, \"qk_nope_head_dim\": 32",
                    "\"q_lora_rank\": 256, \"kv_lora_rank\": 256, \"qk_nope_head_dim\": 64")
            .replace("\"v_head_dim\": 32", "\"v_head_dim\": 64")
            .replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2");
    /**
     * DeepSeek-V3 shaped as core's references/deepseek_v3_lite (Moonlight's form) without its attention biases (llama.cpp's
     * deepseek2 adds none): plain q_proj queries, no YaRN, and rope_interleave false, so that the rotated rows of q_proj
     * and kv_a_proj_with_mqa are reordered from halves into llama.cpp's pairs; layer 0 dense and layer 1 sparse.
     */
    private static final String DEEPSEEK_V3_LITE = DEEPSEEK_V3.replace("\"q_lora_rank\": 32", "\"q_lora_rank\": null")
            .replace("\"rope_interleave\": true", "\"rope_interleave\": false")
            .replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 2")
            .replaceAll("\"rope_parameters\": \\{[^}]*}", "\"rope_parameters\": {\"rope_type\": \"default\", "
                    + "\"rope_theta\": 10000.0}");
    /**
     * DeepSeek-V2 (deepseek_v2; GGUF architecture deepseek2), shaped as core's references/deepseek_v2 at the latent sizes
     * of {@link #DEEPSEEK_V3}: rotary in adjacent pairs (V2's complex numbers), YaRN with mscale and mscale_all_dim
     * 0.707 as published (the log multiplier llama.cpp special-cases for DeepSeek-V2), a softmax router picking 3 of 8
     * experts greedily (topk_method greedy: its n_group 4 and topk_group 2 unused, so the group keys the converter would
     * write are not), weights unnormalised times 2.5, two shared experts; layer 0 dense.
     */
    private static final String DEEPSEEK_V2 = """
            {"model_type": "deepseek_v2", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "moe_intermediate_size": 32, "n_routed_experts": 8, "num_experts_per_tok": 3, "n_group": 4,
             "topk_group": 2, "topk_method": "greedy", "n_shared_experts": 2, "norm_topk_prob": false,
             "routed_scaling_factor": 2.5, "first_k_dense_replace": 1, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": 32, "kv_lora_rank": 32,
             "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32, "max_position_embeddings": 128,
             "rms_norm_eps": 1e-6, "attention_bias": false, "tie_word_embeddings": false,
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "mscale": 0.707,
                                 "mscale_all_dim": 0.707, "original_max_position_embeddings": 16, "beta_fast": 32,
                                 "beta_slow": 1}}""";
    /**
     * Mistral 4 (GGUF architecture mistral4): {@link #DEEPSEEK_V3}'s latent attention and mixture with Mistral 4's
     * rules: a softmax router without a selection bias, its groups scored by their two best probabilities, the experts
     * stacked as Mistral 4's checkpoints hold them (gate_up_proj (E, 2I, C), down_proj (E, C, I)), and Llama 4's
     * temperature (beta 0.5) on the whole queries, stepping every 8 positions, YaRN's original length (the 19 tokens
     * cross two steps: factors 1, 1.35 and 1.55).
     */
    static final String MISTRAL4 = DEEPSEEK_V3.replace("\"deepseek_v3\"", "\"mistral4\"")
            .replace(", \"num_nextn_predict_layers\": 1", "")
            .replace("\"original_max_position_embeddings\": 16", "\"original_max_position_embeddings\": 8, "
                    + "\"llama_4_scaling_beta\": 0.5");
    /**
     * Cohere (Command R; GGUF architecture command-r): bias-free LayerNorms, attention and MLP side by side from one
     * norm, rotary pairs adjacent, the logits times 0.25, the head tied (llama.cpp's command-r has no other).
     */
    private static final String COHERE = """
            {"model_type": "cohere", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 128, "layer_norm_eps": 1e-5, "logit_scale": 0.25, "rope_theta": 10000.0,
             "attention_bias": false, "use_qk_norm": false, "tie_word_embeddings": true}""";
    /**
     * Command R+: Cohere with a LayerNorm of each query and key head ({@code use_qk_norm}, one weight row per head),
     * 64 layers deep, the depth from which llama.cpp's command-r graph reads {@code attn_q_norm} and
     * {@code attn_k_norm}.
     */
    private static final String COHERE_PLUS = COHERE.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 64")
            .replace("\"use_qk_norm\": false", "\"use_qk_norm\": true");
    /**
     * Cohere 2 (Command R7B): Cohere's layers, a window of 4 in layers 0, 2 and 3 (not llama.cpp's default pattern of
     * every 4th full, so the written pattern bites), which alone rotate; layer 1 attends fully without position
     * encoding.
     */
    private static final String COHERE2 = COHERE.replace("\"cohere\"", "\"cohere2\"").replace(
            "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 4, \"sliding_window\": 4, \"layer_types\": "
                    + "[\"sliding_attention\", \"full_attention\", \"sliding_attention\", \"sliding_attention\"]");
    /** GLM-4 wide enough for K-quants: 4 layers of 256, heads of 64, its fused ffn_up 2 x 512 rows. */
    private static final String GLM4_WIDE = GLM4.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4").replace("\"head_dim\": 16", "\"head_dim\": 64");
    /** Cohere wide enough for K-quants: 4 layers of 256 (heads of 64), an MLP of 512. */
    private static final String COHERE_WIDE = COHERE.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4");
    /**
     * EXAONE 4 as EXAONE 4.0 1.2B is (no window: every layer attends fully and rotates): norms after each sub-block,
     * per-head q/k norms before the rotary, the head untied.
     */
    private static final String EXAONE4 = """
            {"model_type": "exaone4", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "sliding_window": null,
             "layer_types": ["full_attention", "full_attention"], "rope_theta": 10000.0,
             "tie_word_embeddings": false}""";
    /**
     * EXAONE 4 of 64 layers, the depth at which llama.cpp's exaone4 slides (EXAONE 4.0 32B's): a window of 4 in all but
     * every 3rd layer (not llama.cpp's default of every 4th, so the written pattern bites), which alone rotate.
     */
    private static final String EXAONE4_SLIDING = """
            {"model_type": "exaone4", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "sliding_window": 4, "sliding_window_pattern": 3,
             "rope_theta": 10000.0, "tie_word_embeddings": false}""";
    /** Seed-OSS: q/k/v biases (none on o_proj or the MLP, as published), the head untied. */
    private static final String SEED_OSS = """
            {"model_type": "seed_oss", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "attention_bias": true,
             "attention_out_bias": false, "mlp_bias": false, "rope_theta": 10000.0, "tie_word_embeddings": false}""";
    /**
     * Hunyuan dense: per-head q/k norms after the rotary, whose base alpha 1000 raises to 10,000 x 1000^(16/14)
     * (written as the base, as the converter writes it), no attention biases, the head tied.
     */
    private static final String HUNYUAN = """
            {"model_type": "hunyuan_v1_dense", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "attention_bias": false,
             "rope_parameters": {"rope_type": "dynamic", "alpha": 1000.0, "factor": 1.0, "rope_theta": 10000.0},
             "tie_word_embeddings": true}""";
    /**
     * StarCoder2: LayerNorms with biases, biases on q, k, v, o, c_fc and c_proj, the ungated GELU MLP, the head tied;
     * its window as wide as the context (llama.cpp's starcoder2 applies none, so a narrower one is refused).
     */
    private static final String STARCODER2 = """
            {"model_type": "starcoder2", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 128, "norm_epsilon": 1e-5, "use_bias": true, "sliding_window": 128,
             "hidden_act": "gelu_pytorch_tanh", "rope_theta": 10000.0, "tie_word_embeddings": true}""";
    /**
     * Arcee: the ungated squared-ReLU MLP, YaRN (factor 8 over 4,096 positions, llama.cpp's betas 32 and 1: its ramp
     * between rotary pairs 2 and 6 of 8), the head untied.
     */
    private static final String ARCEE = """
            {"model_type": "arcee", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 32768, "rms_norm_eps": 1e-5, "hidden_act": "relu2",
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 8.0, "beta_fast": 32.0,
                                 "beta_slow": 1.0, "original_max_position_embeddings": 4096},
             "tie_word_embeddings": false}""";
    /**
     * Apertus (GGUF architecture apertus): per-head q/k RMSNorms, rotary halves with Llama 3's scaling (its rope_freqs
     * written, as for Llama 3), an ungated MLP whose xIELU takes each layer's own scalars (drawn as any weight: the file
     * holds them as the xielu.* keys).
     */
    private static final String APERTUS = """
            {"model_type": "apertus", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "hidden_act": "xielu",
             "rope_parameters": {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
             "tie_word_embeddings": false}""";
    /**
     * Ministral 3 (GGUF architecture mistral3): llama's layers with YaRN (factor 4 over 8 positions, mscale and
     * mscale_all_dim 1, so that llama.cpp must read the magnitudes' ratio from yarn_log_multiplier) and Llama 4's query
     * temperature with beta 0.5 stepping every 8 positions (the 19 tokens cross two steps: factors 1, 1.35 and 1.55).
     */
    static final String MINISTRAL3 = """
            {"model_type": "ministral3", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
             "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "beta_fast": 32.0,
                                 "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0,
                                 "original_max_position_embeddings": 8, "llama_4_scaling_beta": 0.5},
             "tie_word_embeddings": false}""";
    /** Apertus wide enough for K-quants: 4 layers of 256, heads of 64, an MLP of 512. */
    private static final String APERTUS_WIDE = APERTUS.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4").replace("\"head_dim\": 16", "\"head_dim\": 64");
    /** Arcee wide enough for K-quants: 4 layers of 256, heads of 64, an MLP of 512. */
    private static final String ARCEE_WIDE = ARCEE.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4").replace("\"head_dim\": 16", "\"head_dim\": 64");
    /**
     * LFM2: the published layer pattern (convolution layers 0, 1, 3 and 4, attention layers 2 and 5), per-head q/k
     * norms, rotary halves at LFM2's base, no convolution biases (as published), the MLP 96 wide by Lfm2MLP's formula
     * (2/3 of 128 rounded up to a multiple of 32), the head untied.
     */
    private static final String LFM2 = """
            {"model_type": "lfm2", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 128,
             "block_auto_adjust_ff_dim": true, "block_ffn_dim_multiplier": 1.0, "block_multiple_of": 32,
             "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 256, "norm_eps": 1e-5, "conv_L_cache": 3, "conv_bias": false,
             "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "full_attention"],
             "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}, "tie_word_embeddings": false}""";
    /**
     * LFM2 wide enough for K-quants (rows of 256; the MLP 512 = 2/3 of 768), its head tied as published: Q4_K_M gives
     * Q6_K to layer 5's value projection alone, the second of the two llama-quantize counts (counted by layer, layer 2's
     * would get it too).
     */
    private static final String LFM2_WIDE = LFM2.replace("\"hidden_size\": 64, \"intermediate_size\": 128",
            "\"hidden_size\": 256, \"intermediate_size\": 768").replace("\"tie_word_embeddings\": false",
            "\"tie_word_embeddings\": true");
    /**
     * Falcon-H1 (GGUF architecture falcon-h1): attention (4 heads of 16, 2 key/value heads, halves rotated) and a
     * Mamba-2 mixer (6 heads of 16, 2 groups of B and C with a state of 16, its gated norm per group after the gate)
     * side by side in each of 2 layers, every muP multiplier other than 1 (the five ssm_multipliers all different), the
     * head tied to the embeddings under a lm_head_multiplier other than the embedding_multiplier (so the file holds its
     * own output.weight).
     */
    private static final String FALCON_H1 = """
            {"model_type": "falcon_h1", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "mamba_d_ssm": 96, "mamba_n_heads": 6, "mamba_d_head": 16,
             "mamba_n_groups": 2, "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_conv_bias": true,
             "mamba_proj_bias": false, "projectors_bias": false, "mamba_rms_norm": true,
             "mamba_norm_before_gate": false, "mamba_chunk_size": 8, "embedding_multiplier": 1.7,
             "lm_head_multiplier": 0.6, "attention_in_multiplier": 1.3, "attention_out_multiplier": 0.8,
             "key_multiplier": 0.45, "ssm_in_multiplier": 1.25, "ssm_out_multiplier": 0.7,
             "mlp_multipliers": [1.4, 0.55], "ssm_multipliers": [0.9, 1.35, 0.6, 1.9, 2.5]}""";
    /** Falcon-H1 with its own lm_head, for the lossy types (a tied head would be rounded twice, as two tensors). */
    private static final String FALCON_H1_UNTIED = FALCON_H1.replace("\"tie_word_embeddings\": true",
            "\"tie_word_embeddings\": false");
    /** Falcon-H1 without the mixers' gated norm (mamba_rms_norm false: y silu(z) as it is, no ssm_norm in the file). */
    private static final String FALCON_H1_NO_NORM = FALCON_H1_UNTIED.replace("\"mamba_rms_norm\": true",
            "\"mamba_rms_norm\": false");
    /** Falcon-H1 wide enough for K-quants: 4 layers of 256, heads of 64, an MLP of 512, Mamba-2 mixers 512 wide. */
    private static final String FALCON_H1_WIDE = FALCON_H1_UNTIED.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"num_hidden_layers\": 2",
            "\"num_hidden_layers\": 4").replace("\"head_dim\": 16", "\"head_dim\": 64")
            .replace("\"mamba_d_ssm\": 96, \"mamba_n_heads\": 6, \"mamba_d_head\": 16",
                    "\"mamba_d_ssm\": 512, \"mamba_n_heads\": 8, \"mamba_d_head\": 64");
    /**
     * Nemotron-H (GGUF architecture nemotron_h): one block per layer after its own RMSNorm, every dense kind: Mamba-2
     * mixers (8 heads of 16, 2 groups of B and C with a state of 16, each group normed apart after the gate), an
     * attention layer without position encoding (4 heads of 16, 2 key/value heads) and squared-ReLU MLPs without a
     * gate; time_step_min 0, as llama.cpp clamps no time step.
     */
    private static final String NEMOTRON_H = """
            {"model_type": "nemotron_h", "vocab_size": 272, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 5, "layers_block_type": ["mamba", "mlp", "attention", "mamba", "mlp"],
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256,
             "layer_norm_epsilon": 1e-5, "tie_word_embeddings": false, "mlp_hidden_act": "relu2",
             "mamba_num_heads": 8, "mamba_head_dim": 16, "n_groups": 2, "ssm_state_size": 16, "conv_kernel": 4,
             "chunk_size": 8, "use_conv_bias": true, "use_bias": false, "time_step_min": 0.0}""";
    /**
     * Nemotron-H with mixture layers (GGUF architecture nemotron_h_moe) in place of its MLP layers: 6 gateless
     * squared-ReLU experts of 32 in 2 groups, 2 per token from 1 group, the sigmoid router's correction bias,
     * renormalised and scaled by 2.5, beside a shared expert of 48.
     */
    private static final String NEMOTRON_H_MOE = NEMOTRON_H.replace("\"mlp\", \"attention\", \"mamba\", \"mlp\"",
            "\"moe\", \"attention\", \"mamba\", \"moe\"").replace("\"chunk_size\": 8,", "\"chunk_size\": 8, "
            + "\"n_routed_experts\": 6, \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 32, "
            + "\"moe_shared_expert_intermediate_size\": 48, \"n_shared_experts\": 1, \"n_group\": 2, "
            + "\"topk_group\": 1, \"norm_topk_prob\": true, \"routed_scaling_factor\": 2.5,");
    /**
     * Nemotron-H wide enough for K-quants: 256 wide, heads of 64, MLPs of 512, Mamba-2 mixers of 8 heads of 64. Its MLP
     * layers 1 and 4 are the first and second down projections llama-quantize counts, of 5 layers, neither favoured by
     * Q4_K_M (by layer, layer 4 would be); its one attention layer's value projection is the first and last, Q6_K.
     */
    private static final String NEMOTRON_H_WIDE = NEMOTRON_H.replace("\"hidden_size\": 64, \"intermediate_size\": 96",
            "\"hidden_size\": 256, \"intermediate_size\": 512").replace("\"head_dim\": 16", "\"head_dim\": 64")
            .replace("\"mamba_head_dim\": 16", "\"mamba_head_dim\": 64");
    /**
     * The ubatch llama.cpp decodes an LFM2 case's ids in: 16 of its 73 tokens at a time, so that each ubatch reads
     * the convolution states and the attention cache the ones before it left.
     */
    private static final int LFM2_UBATCH = 16;
    /** core's SentencePiece test tokenizer with Gemma's normalizer: spaces to ▁, no ▁ prepended. */
    static final String GEMMA_TOKENIZER = "sentencepiece-bos, Gemma's normalizer";

    /**
     * Every case: each family in float32, the Llama one in each lossy type, and wide models in each K-quant mix,
     * with and without an importance matrix, whose float32 export llama.cpp's llama-quantize also quantized (with the
     * same importance matrix) for the fixture; and the mixtures of experts in F32, one lossy type each, a K-quant mix
     * each for Mixtral (8 experts; and under an importance matrix, whose stacked experts hold per-expert sums and
     * counts) and Qwen2-MoE, and Mixtral with an attention LoRA adapter; Granite, OLMo 2, OLMo 3 and SmolLM3 in F32
     * and one quantized type each (OLMo 2 a K-quant mix), and Granite with a LoRA adapter; Granite 4 in F32, Q8_0,
     * with a LoRA adapter (its fused input_linear's split into ffn_gate and ffn_up), without position encoding and in
     * Q4_K_M under an importance matrix (both parts of input_linear weighted by its inputs); OLMoE in F32, with an
     * attention LoRA adapter and in Q4_K_M under an importance matrix; gpt-oss in F32, BF16 and Q8_0; Qwen3.5 in F32,
     * Q8_0, with a LoRA adapter on every projection of both kinds of layer, and wide in Q4_K_M; Granite 4.0 H in F32,
     * Q8_0, with a LoRA adapter on every projection (the Mamba-2 in_proj and out_proj too), wide in Q4_K_M and in
     * Q5_K_M under an importance matrix (the Mamba-2 projections' inputs weighted too); GLM, GLM-4, ERNIE 4.5, Cohere
     * and Cohere 2 in F32, Q8_0 and with a LoRA adapter on every projection (GLM's fused gate_up_proj among them), GLM-4
     * and Cohere wide in Q4_K_M; EXAONE 4, Seed-OSS, Hunyuan dense, StarCoder2 and Arcee likewise (EXAONE 4 also at 64
     * layers, where it slides), Arcee wide in Q4_K_M; LFM2 in F32, Q8_0, with a LoRA adapter on every projection (the
     * convolution layers' in_proj and out_proj too) and wide in Q4_K_M under an importance matrix; GLM-4.5 and
     * ERNIE-4.5-MoE (routers with a selection bias, GLM-4.5's in groups, leading dense layers, shared experts) in F32,
     * Q8_0, with an attention LoRA adapter and wide in Q4_K_M; DeepSeek-V3 (latent attention with a query bottleneck,
     * YaRN, GLM-4.5's router) in F32, Q8_0 and with a LoRA adapter on o_proj and the dense and shared MLPs, its plain
     * q_proj form with halves rotated in F32, and DeepSeek-V2 (its softmax router, YaRN of mscale 0.707) in F32 and
     * Q8_0; Qwen3-Next (the DeltaNet's fused projections) in F32, Q8_0 and with a LoRA adapter on the attention's
     * projections and the DeltaNet's in_proj_qkvz, in_proj_ba and out_proj; Falcon-H1 (its muP multipliers baked into
     * the matrices) in F32 with a tied head of its own multiplier and untied without the mixers' norm, in Q8_0, with a
     * LoRA adapter on the attention's, the Mamba-2 in_proj's and the MLP's projections (their B baked as the
     * matrices), and wide in Q4_K_M; Gemma 4 (every dense feature) in F32, Q8_0 and with a LoRA adapter on every
     * projection its graph adapts (the per-layer inputs' gate and projection among them), and wide in Q4_K_M, with
     * and without its mixture beside the MLP; Nemotron-H in F32, Q8_0 and wide in Q4_K_M, its mixture in F32. The IQ4
     * mixes: Llama wide with 4 query heads per key head in IQ4_XS (its value projections and layer 0's down projection
     * Q5_K) and under an importance matrix (layer 0's down projection IQ4_XS), Qwen2 wide in IQ4_XS (its down
     * projections' rows of 320 falling back to IQ4_NL, its tied head Q6_K) and in IQ4_NL; IQ3_S: the GQA-4 Llama (its
     * value projections Q4_K), Qwen2 under an importance matrix.
     */
    static final List<ReferenceCase> ALL = List.of(
            new ReferenceCase("llama-spm-f32", LLAMA, "sentencepiece-bos", GgufType.F32, false),
            new ReferenceCase("llama-spm-f16", LLAMA, "sentencepiece-bos", GgufType.F16, false),
            new ReferenceCase("llama-spm-bf16", LLAMA, "sentencepiece-bos", GgufType.BF16, false),
            new ReferenceCase("llama-spm-q8_0", LLAMA, "sentencepiece-bos", GgufType.Q8_0, false),
            new ReferenceCase("qwen2-bytebpe-f32", QWEN2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("qwen3-bytebpe-f32", QWEN3, "bytebpe", GgufType.F32, false),
            new ReferenceCase("qwen3-bytebpe-q8_0", QWEN3, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("llama-spm-lora-f32", LLAMA, "sentencepiece-bos", GgufType.F32, true),
            new ReferenceCase("qwen2-bytebpe-lora-f32", QWEN2, "bytebpe", GgufType.F32, true),
            new ReferenceCase("gpt2-bytebpe-f32", GPT2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("gpt2-bytebpe-q8_0", GPT2, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("phi3-spm-f32", PHI3, "sentencepiece-bos", GgufType.F32, false),
            new ReferenceCase("phi3-spm-lora-f32", PHI3, "sentencepiece-bos", GgufType.F32, true),
            new ReferenceCase("phi3-long-spm-f32", PHI3_LONG, "sentencepiece-bos", GgufType.F32, false),
            new ReferenceCase("gemma-spm-f32", GEMMA, GEMMA_TOKENIZER, GgufType.F32, false),
            new ReferenceCase("gemma2-spm-f32", GEMMA2, GEMMA_TOKENIZER, GgufType.F32, false),
            new ReferenceCase("gemma3-spm-f32", GEMMA3, GEMMA_TOKENIZER, GgufType.F32, false),
            new ReferenceCase("gemma3-spm-f16", GEMMA3, GEMMA_TOKENIZER, GgufType.F16, false),
            new ReferenceCase("gemma3-spm-q8_0", GEMMA3, GEMMA_TOKENIZER, GgufType.Q8_0, false),
            new ReferenceCase("gemma4-spm-f32", GEMMA4, GEMMA_TOKENIZER, GgufType.F32, false),
            new ReferenceCase("gemma4-spm-q8_0", GEMMA4, GEMMA_TOKENIZER, GgufType.Q8_0, false),
            new ReferenceCase("gemma4-spm-lora-f32", GEMMA4, GEMMA_TOKENIZER, GgufType.F32, true),
            new ReferenceCase("gemma4moe-spm-f32", GEMMA4_MOE, GEMMA_TOKENIZER, GgufType.F32, false, false,
                    GEMMA4_MOE_SEED),
            new ReferenceCase("gemma4moe-spm-q8_0", GEMMA4_MOE, GEMMA_TOKENIZER, GgufType.Q8_0, false, false,
                    GEMMA4_MOE_SEED),
            new ReferenceCase("gemma4moe-spm-lora-f32", GEMMA4_MOE, GEMMA_TOKENIZER, GgufType.F32, true, false,
                    GEMMA4_MOE_LORA_SEED),
            new ReferenceCase("gemma4-wide-spm-q4_k_m", GEMMA4_WIDE, GEMMA_TOKENIZER, GgufType.Q4_K_M, false),
            new ReferenceCase("gemma4moe-wide-spm-q4_k_m", GEMMA4_MOE_WIDE, GEMMA_TOKENIZER, GgufType.Q4_K_M, false,
                    false, GEMMA4_MOE_WIDE_SEED),
            new ReferenceCase("llama-wide-spm-q4_k_m", LLAMA_WIDE, "sentencepiece-bos", GgufType.Q4_K_M, false),
            new ReferenceCase("llama-wide-spm-q5_k_m", LLAMA_WIDE, "sentencepiece-bos", GgufType.Q5_K_M, false),
            new ReferenceCase("qwen2-wide-bytebpe-q4_k_m", QWEN2_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("qwen2-wide-bytebpe-q6_k", QWEN2_WIDE, "bytebpe", GgufType.Q6_K, false),
            new ReferenceCase("phi3-wide-spm-q4_k_m", PHI3_WIDE, "sentencepiece-bos", GgufType.Q4_K_M, false),
            new ReferenceCase("llama-wide-spm-q4_k_m-imatrix", LLAMA_WIDE, "sentencepiece-bos", GgufType.Q4_K_M, false,
                    true),
            new ReferenceCase("qwen2-wide-bytebpe-q4_k_m-imatrix", QWEN2_WIDE, "bytebpe", GgufType.Q4_K_M, false, true),
            new ReferenceCase("qwen2-wide-bytebpe-q5_k_m-imatrix", QWEN2_WIDE, "bytebpe", GgufType.Q5_K_M, false, true),
            new ReferenceCase("llama-wide-spm-q3_k_m", LLAMA_WIDE, "sentencepiece-bos", GgufType.Q3_K_M, false),
            new ReferenceCase("llama-wide-spm-q3_k_m-imatrix", LLAMA_WIDE, "sentencepiece-bos", GgufType.Q3_K_M, false,
                    true),
            new ReferenceCase("qwen2-wide-bytebpe-q3_k_s-imatrix", QWEN2_WIDE, "bytebpe", GgufType.Q3_K_S, false, true),
            new ReferenceCase("phi3-wide-spm-q3_k_l", PHI3_WIDE, "sentencepiece-bos", GgufType.Q3_K_L, false),
            new ReferenceCase("gpt2-wide-bytebpe-q4_k_m", GPT2_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("gemma3-wide-spm-q5_k_m-imatrix", GEMMA3_WIDE, GEMMA_TOKENIZER, GgufType.Q5_K_M, false,
                    true),
            new ReferenceCase("llama-wide-gqa4-spm-iq4_xs", LLAMA_WIDE_GQA4, "sentencepiece-bos", GgufType.IQ4_XS,
                    false),
            new ReferenceCase("llama-wide-gqa4-spm-iq4_xs-imatrix", LLAMA_WIDE_GQA4, "sentencepiece-bos",
                    GgufType.IQ4_XS, false, true),
            new ReferenceCase("qwen2-wide-bytebpe-iq4_xs", QWEN2_WIDE, "bytebpe", GgufType.IQ4_XS, false),
            new ReferenceCase("qwen2-wide-bytebpe-iq4_nl", QWEN2_WIDE, "bytebpe", GgufType.IQ4_NL, false),
            new ReferenceCase("llama-wide-gqa4-spm-iq3_s", LLAMA_WIDE_GQA4, "sentencepiece-bos", GgufType.IQ3_S, false),
            new ReferenceCase("qwen2-wide-bytebpe-iq3_s-imatrix", QWEN2_WIDE, "bytebpe", GgufType.IQ3_S, false, true),
            new ReferenceCase("mixtral-spm-f32", MIXTRAL, "sentencepiece-bos", GgufType.F32, false, false, 237),
            new ReferenceCase("mixtral-spm-q8_0", MIXTRAL, "sentencepiece-bos", GgufType.Q8_0, false, false, 237),
            new ReferenceCase("mixtral-spm-lora-f32", MIXTRAL, "sentencepiece-bos", GgufType.F32, true, false, 237),
            new ReferenceCase("qwen2moe-bytebpe-f32", QWEN2_MOE, "bytebpe", GgufType.F32, false, false, 128),
            new ReferenceCase("qwen2moe-bytebpe-bf16", QWEN2_MOE, "bytebpe", GgufType.BF16, false, false, 128),
            new ReferenceCase("qwen3moe-bytebpe-f32", QWEN3_MOE, "bytebpe", GgufType.F32, false, false, 66),
            new ReferenceCase("qwen3moe-bytebpe-q8_0", QWEN3_MOE, "bytebpe", GgufType.Q8_0, false, false, 66),
            new ReferenceCase("mixtral-wide-spm-q4_k_m", MIXTRAL_WIDE, "sentencepiece-bos", GgufType.Q4_K_M, false,
                    false, 109),
            new ReferenceCase("mixtral-wide-spm-q4_k_m-imatrix", MIXTRAL_WIDE, "sentencepiece-bos", GgufType.Q4_K_M,
                    false, true, 109),
            new ReferenceCase("qwen2moe-wide-bytebpe-q3_k_m", QWEN2_MOE_WIDE, "bytebpe", GgufType.Q3_K_M, false, false,
                    101),
            new ReferenceCase("granite-spm-f32", GRANITE, "sentencepiece-bos", GgufType.F32, false),
            new ReferenceCase("granite-spm-q8_0", GRANITE, "sentencepiece-bos", GgufType.Q8_0, false),
            new ReferenceCase("granite-spm-lora-f32", GRANITE, "sentencepiece-bos", GgufType.F32, true),
            new ReferenceCase("granite4-bytebpe-f32", GRANITE4, "bytebpe", GgufType.F32, false),
            new ReferenceCase("granite4-bytebpe-q8_0", GRANITE4, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("granite4-bytebpe-lora-f32", GRANITE4, "bytebpe", GgufType.F32, true),
            new ReferenceCase("granite4-nope-bytebpe-f32", GRANITE4_NOPE, "bytebpe", GgufType.F32, false),
            new ReferenceCase("granite4-wide-bytebpe-q4_k_m-imatrix", GRANITE4_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    true),
            new ReferenceCase("olmo2-bytebpe-f32", OLMO2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("olmo2-wide-bytebpe-q4_k_m", OLMO2_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("olmo3-bytebpe-f32", OLMO3, "bytebpe", GgufType.F32, false),
            new ReferenceCase("olmo3-bytebpe-q8_0", OLMO3, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("smollm3-bytebpe-f32", SMOLLM3, "bytebpe", GgufType.F32, false),
            new ReferenceCase("smollm3-bytebpe-q8_0", SMOLLM3, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("olmoe-bytebpe-f32", OLMOE, "bytebpe", GgufType.F32, false, false, 7),
            new ReferenceCase("olmoe-bytebpe-lora-f32", OLMOE, "bytebpe", GgufType.F32, true, false, 7),
            new ReferenceCase("olmoe-wide-bytebpe-q4_k_m-imatrix", OLMOE_WIDE, "bytebpe", GgufType.Q4_K_M, false, true,
                    32),
            new ReferenceCase("gptoss-bytebpe-f32", GPT_OSS, "bytebpe", GgufType.F32, false, false, GPT_OSS_SEED),
            new ReferenceCase("gptoss-bytebpe-bf16", GPT_OSS, "bytebpe", GgufType.BF16, false, false, GPT_OSS_SEED),
            new ReferenceCase("gptoss-bytebpe-q8_0", GPT_OSS, "bytebpe", GgufType.Q8_0, false, false, GPT_OSS_SEED),
            new ReferenceCase("qwen35-bytebpe-f32", QWEN35, "bytebpe", GgufType.F32, false),
            new ReferenceCase("qwen35-bytebpe-q8_0", QWEN35_LOSSY, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("qwen35-bytebpe-lora-f32", QWEN35, "bytebpe", GgufType.F32, true),
            new ReferenceCase("qwen35-wide-bytebpe-q4_k_m", QWEN35_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("qwen35moe-bytebpe-f32", QWEN35_MOE, "bytebpe", GgufType.F32, false, false, 59),
            new ReferenceCase("qwen35moe-bytebpe-q8_0", QWEN35_MOE_LOSSY, "bytebpe", GgufType.Q8_0, false, false,
                    2442),
            new ReferenceCase("qwen35moe-wide-bytebpe-q4_k_m", QWEN35_MOE_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    false, QWEN35_MOE_WIDE_SEED),
            new ReferenceCase("granite4h-bytebpe-f32", GRANITE4_H, "bytebpe", GgufType.F32, false),
            new ReferenceCase("granite4h-bytebpe-q8_0", GRANITE4_H, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("granite4h-bytebpe-lora-f32", GRANITE4_H, "bytebpe", GgufType.F32, true),
            new ReferenceCase("granite4h-wide-bytebpe-q4_k_m", GRANITE4_H_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("granite4h-wide-bytebpe-q5_k_m-imatrix", GRANITE4_H_WIDE, "bytebpe", GgufType.Q5_K_M,
                    false, true),
            new ReferenceCase("glm-bytebpe-f32", GLM, "bytebpe", GgufType.F32, false),
            new ReferenceCase("glm-bytebpe-q8_0", GLM, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("glm-bytebpe-lora-f32", GLM, "bytebpe", GgufType.F32, true),
            new ReferenceCase("glm4-bytebpe-f32", GLM4, "bytebpe", GgufType.F32, false),
            new ReferenceCase("glm4-bytebpe-q8_0", GLM4, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("glm4-bytebpe-lora-f32", GLM4, "bytebpe", GgufType.F32, true),
            new ReferenceCase("ernie4_5-bytebpe-f32", ERNIE45, "bytebpe", GgufType.F32, false),
            new ReferenceCase("ernie4_5-bytebpe-q8_0", ERNIE45, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("ernie4_5-bytebpe-lora-f32", ERNIE45, "bytebpe", GgufType.F32, true),
            new ReferenceCase("cohere-bytebpe-f32", COHERE, "bytebpe", GgufType.F32, false),
            new ReferenceCase("cohere-bytebpe-q8_0", COHERE, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("cohere-bytebpe-lora-f32", COHERE, "bytebpe", GgufType.F32, true),
            new ReferenceCase("cohereplus-bytebpe-f32", COHERE_PLUS, "bytebpe", GgufType.F32, false),
            new ReferenceCase("cohere2-bytebpe-f32", COHERE2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("cohere2-bytebpe-q8_0", COHERE2, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("cohere2-bytebpe-lora-f32", COHERE2, "bytebpe", GgufType.F32, true),
            new ReferenceCase("glm4-wide-bytebpe-q4_k_m", GLM4_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("cohere-wide-bytebpe-q4_k_m", COHERE_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("exaone4-bytebpe-f32", EXAONE4, "bytebpe", GgufType.F32, false),
            new ReferenceCase("exaone4-bytebpe-q8_0", EXAONE4, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("exaone4-bytebpe-lora-f32", EXAONE4, "bytebpe", GgufType.F32, true),
            new ReferenceCase("exaone4-sliding-bytebpe-f32", EXAONE4_SLIDING, "bytebpe", GgufType.F32, false),
            new ReferenceCase("seed_oss-bytebpe-f32", SEED_OSS, "bytebpe", GgufType.F32, false),
            new ReferenceCase("seed_oss-bytebpe-q8_0", SEED_OSS, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("seed_oss-bytebpe-lora-f32", SEED_OSS, "bytebpe", GgufType.F32, true),
            new ReferenceCase("hunyuan-bytebpe-f32", HUNYUAN, "bytebpe", GgufType.F32, false),
            new ReferenceCase("hunyuan-bytebpe-q8_0", HUNYUAN, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("hunyuan-bytebpe-lora-f32", HUNYUAN, "bytebpe", GgufType.F32, true),
            new ReferenceCase("starcoder2-bytebpe-f32", STARCODER2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("starcoder2-bytebpe-q8_0", STARCODER2, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("starcoder2-bytebpe-lora-f32", STARCODER2, "bytebpe", GgufType.F32, true),
            new ReferenceCase("apertus-bytebpe-f32", APERTUS, "bytebpe", GgufType.F32, false),
            new ReferenceCase("apertus-bytebpe-q8_0", APERTUS, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("apertus-bytebpe-lora-f32", APERTUS, "bytebpe", GgufType.F32, true),
            new ReferenceCase("apertus-wide-bytebpe-q4_k_m", APERTUS_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("ministral3-bytebpe-f32", MINISTRAL3, "bytebpe", GgufType.F32, false),
            new ReferenceCase("ministral3-bytebpe-q8_0", MINISTRAL3, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("ministral3-bytebpe-lora-f32", MINISTRAL3, "bytebpe", GgufType.F32, true),
            new ReferenceCase("arcee-bytebpe-f32", ARCEE, "bytebpe", GgufType.F32, false),
            new ReferenceCase("arcee-bytebpe-q8_0", ARCEE, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("arcee-bytebpe-lora-f32", ARCEE, "bytebpe", GgufType.F32, true),
            new ReferenceCase("arcee-wide-bytebpe-q4_k_m", ARCEE_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("lfm2-bytebpe-f32", LFM2, "bytebpe", GgufType.F32, false),
            new ReferenceCase("lfm2-bytebpe-q8_0", LFM2, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("lfm2-bytebpe-lora-f32", LFM2, "bytebpe", GgufType.F32, true),
            new ReferenceCase("lfm2-wide-bytebpe-q4_k_m-imatrix", LFM2_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    true),
            new ReferenceCase("glm4moe-bytebpe-f32", GLM4_MOE, "bytebpe", GgufType.F32, false, false, GLM4_MOE_SEED),
            new ReferenceCase("glm4moe-bytebpe-q8_0", GLM4_MOE, "bytebpe", GgufType.Q8_0, false, false, GLM4_MOE_SEED),
            new ReferenceCase("glm4moe-bytebpe-lora-f32", GLM4_MOE, "bytebpe", GgufType.F32, true, false,
                    GLM4_MOE_SEED),
            new ReferenceCase("glm4moe-wide-bytebpe-q4_k_m", GLM4_MOE_WIDE, "bytebpe", GgufType.Q4_K_M, false, false,
                    GLM4_MOE_WIDE_SEED),
            new ReferenceCase("ernie4_5moe-bytebpe-f32", ERNIE45_MOE, "bytebpe", GgufType.F32, false, false,
                    ERNIE45_MOE_SEED),
            new ReferenceCase("ernie4_5moe-bytebpe-q8_0", ERNIE45_MOE, "bytebpe", GgufType.Q8_0, false, false,
                    ERNIE45_MOE_SEED),
            new ReferenceCase("ernie4_5moe-bytebpe-lora-f32", ERNIE45_MOE, "bytebpe", GgufType.F32, true, false,
                    ERNIE45_MOE_SEED),
            new ReferenceCase("ernie4_5moe-wide-bytebpe-q4_k_m", ERNIE45_MOE_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    false, ERNIE45_MOE_WIDE_SEED),
            new ReferenceCase("deepseekv3-bytebpe-f32", DEEPSEEK_V3, "bytebpe", GgufType.F32, false, false,
                    DEEPSEEK_V3_SEED),
            new ReferenceCase("deepseekv3-bytebpe-q8_0", DEEPSEEK_V3, "bytebpe", GgufType.Q8_0, false, false,
                    DEEPSEEK_V3_SEED),
            new ReferenceCase("deepseekv3-bytebpe-lora-f32", DEEPSEEK_V3, "bytebpe", GgufType.F32, true, false,
                    DEEPSEEK_V3_SEED),
            new ReferenceCase("deepseekv3-wide-bytebpe-q4_k_m", DEEPSEEK_V3_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    false, DEEPSEEK_V3_WIDE_SEED),
            new ReferenceCase("deepseekv3lite-bytebpe-f32", DEEPSEEK_V3_LITE, "bytebpe", GgufType.F32, false, false,
                    DEEPSEEK_V3_LITE_SEED),
            new ReferenceCase("mistral4-bytebpe-f32", MISTRAL4, "bytebpe", GgufType.F32, false, false, MISTRAL4_SEED),
            new ReferenceCase("mistral4-bytebpe-q8_0", MISTRAL4, "bytebpe", GgufType.Q8_0, false, false, MISTRAL4_SEED),
            new ReferenceCase("mistral4-bytebpe-lora-f32", MISTRAL4, "bytebpe", GgufType.F32, true, false,
                    MISTRAL4_LORA_SEED),
            new ReferenceCase("deepseekv2-bytebpe-f32", DEEPSEEK_V2, "bytebpe", GgufType.F32, false, false,
                    DEEPSEEK_V2_SEED),
            new ReferenceCase("deepseekv2-bytebpe-q8_0", DEEPSEEK_V2, "bytebpe", GgufType.Q8_0, false, false,
                    DEEPSEEK_V2_SEED),
            new ReferenceCase("qwen3next-bytebpe-f32", QWEN3_NEXT, "bytebpe", GgufType.F32, false, false,
                    QWEN3_NEXT_SEED),
            new ReferenceCase("qwen3next-bytebpe-q8_0", QWEN3_NEXT_LOSSY, "bytebpe", GgufType.Q8_0, false, false,
                    QWEN3_NEXT_LOSSY_SEED),
            new ReferenceCase("qwen3next-bytebpe-lora-f32", QWEN3_NEXT, "bytebpe", GgufType.F32, true, false,
                    QWEN3_NEXT_SEED),
            new ReferenceCase("qwen3next-wide-bytebpe-q4_k_m", QWEN3_NEXT_WIDE, "bytebpe", GgufType.Q4_K_M, false,
                    false, QWEN3_NEXT_WIDE_SEED),
            new ReferenceCase("falconh1-bytebpe-f32", FALCON_H1, "bytebpe", GgufType.F32, false),
            new ReferenceCase("falconh1-nonorm-bytebpe-f32", FALCON_H1_NO_NORM, "bytebpe", GgufType.F32, false),
            new ReferenceCase("falconh1-bytebpe-q8_0", FALCON_H1_UNTIED, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("falconh1-bytebpe-lora-f32", FALCON_H1, "bytebpe", GgufType.F32, true),
            new ReferenceCase("falconh1-wide-bytebpe-q4_k_m", FALCON_H1_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("nemotronh-bytebpe-f32", NEMOTRON_H, "bytebpe", GgufType.F32, false),
            new ReferenceCase("nemotronh-bytebpe-q8_0", NEMOTRON_H, "bytebpe", GgufType.Q8_0, false),
            new ReferenceCase("nemotronh-wide-bytebpe-q4_k_m", NEMOTRON_H_WIDE, "bytebpe", GgufType.Q4_K_M, false),
            new ReferenceCase("nemotronhmoe-bytebpe-f32", NEMOTRON_H_MOE, "bytebpe", GgufType.F32, false, false,
                    NEMOTRON_H_MOE_SEED));

    /** The dataset name a case's importance matrix file records. */
    static final String IMATRIX_DATASET = "ReferenceCase.TEXTS";

    /** A case of the default seed. */
    ReferenceCase(String name, String config, String tokenizer, GgufType type, boolean lora, boolean imatrix) {
        this(name, config, tokenizer, type, lora, imatrix, DEFAULT_SEED);
    }

    /** A case of the default seed exported without an importance matrix. */
    ReferenceCase(String name, String config, String tokenizer, GgufType type, boolean lora) {
        this(name, config, tokenizer, type, lora, false);
    }

    /**
     * The case's importance matrix, collected over the tokens of {@link #TEXTS} (special tokens added), or null for a
     * case without one.
     */
    ImportanceMatrix importance(LanguageModel model, HfTokenizer tokenizer) {
        return imatrix ? ImportanceMatrix.collect(model, TEXTS.stream()
                .map(t -> tokenizer.encodeWithSpecialTokens(t, 1024)).toList()) : null;
    }

    /**
     * The token ids (with the tokenizer's special tokens) whose logits are compared: those of {@link #LOGITS_TEXT}, or
     * for a model with recurrent layers of {@link #RECURRENT_LOGITS_TEXT}.
     */
    long[] logitsIds(HfTokenizer tokenizer) {
        return tokenizer.encodeWithSpecialTokens(recurrent() ? RECURRENT_LOGITS_TEXT : LOGITS_TEXT,
                recurrent() ? 256 : 64);
    }

    /**
     * Whether the model has recurrent layers: Qwen3.5's gated DeltaNet, Granite 4.0 H's, Falcon-H1's or Nemotron-H's
     * Mamba-2 or
     * LFM2's short convolution.
     */
    boolean recurrent() {
        return linearAttention() || config.contains("\"mamba\"") || config.contains("\"falcon_h1\"")
                || config.contains("\"nemotron_h\"")
                || shortConvolution();
    }

    /** Whether the model has LFM2's short-convolution layers. */
    boolean shortConvolution() {
        return config.contains("\"lfm2\"");
    }

    /**
     * How many tokens llama.cpp decodes at a time (its {@code n_ubatch}): {@link #LFM2_UBATCH} for LFM2, 0 for all of
     * the logits' ids in one ubatch.
     */
    int ubatch() {
        return shortConvolution() ? LFM2_UBATCH : 0;
    }

    /** Whether the model attends by DeepSeek's multi-head latent attention. */
    boolean latentAttention() {
        return config.contains("kv_lora_rank");
    }

    /** Whether the model has Gemma 4's mixture of experts beside each layer's MLP. */
    boolean mixtureBesideMlp() {
        return config.contains("enable_moe_block");
    }

    /** Whether the model has Gemma 4's per-layer inputs, whose gate is a GELU beside the MLP's. */
    boolean perLayerInputs() {
        return config.contains("hidden_size_per_layer_input");
    }

    /** Whether the model has linear-attention layers (Qwen3.5's gated DeltaNet). */
    boolean linearAttention() {
        return config.contains("linear_attention");
    }

    /** The case's config, parsed. */
    ObjectNode configJson() throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(config);
    }

    /** The model with its seeded weights; the caller closes it. */
    LanguageModel model() throws IOException {
        return model(configJson(), seed);
    }

    /** Whether the MLP's activation is GELU, which llama.cpp's CPU backend computes through a float16 table. */
    boolean geluMlp() {
        return config.contains("gelu");
    }

    /**
     * A model of {@code config} whose every tensor, in name order, is drawn from one stream seeded with
     * {@value #DEFAULT_SEED}: matrices
     * uniform in [-0.15, 0.15) (scaled by sqrt(64 / hidden size) for the wide models, whose activations would
     * otherwise grow layer by layer until rounding decides the logits), norms scaling by [0.8, 1.2) (Gemma's before
     * Gemma 4 weights w in [-0.2, 0.2), as it scales by 1 + w), biases in [-0.1, 0.1); gpt-oss's gate_up_proj and sinks and some
     * mixtures' routers wider (see {@link #GPT_OSS_GATE_UP_RANGE}, {@link #SINK_RANGE}, {@link #WIDE_ROUTER_RANGE}),
     * ERNIE's selection bias narrower ({@link #ERNIE_SELECTION_BIAS_RANGE}).
     */
    static LanguageModel model(ObjectNode config) {
        return model(config, DEFAULT_SEED);
    }

    /** {@link #model(ObjectNode)} with the weights drawn from a stream seeded with {@code seed}. */
    static LanguageModel model(ObjectNode config, long seed) {
        LanguageModel model = AutoModel.newCausalLM(config, TensorScope.detached());
        // a vision-language checkpoint's weights are drawn as its text model's
        String type = (config.has("text_config") ? config.path("text_config") : config).path("model_type").asText();
        // norms scaling by 1 + w
        boolean onePlusW = type.startsWith("gemma") && !type.startsWith("gemma4") || type.startsWith("qwen3_5")
                || type.equals("qwen3_next");
        int hidden = config.path(config.has("n_embd") ? "n_embd" : "hidden_size").asInt();
        double matrixRange = hidden > 64 ? 0.15 * Math.sqrt(64.0 / hidden) : 0.15;
        SplittableRandom random = new SplittableRandom(seed);
        for (var e : new TreeMap<>(model.stateDict()).entrySet()) {
            String name = e.getKey();
            boolean norm = name.endsWith("norm.weight") || name.matches(".*\\.ln_\\w+\\.weight");
            // NOTE: Qwen3.5's DeltaNet norm scales by its weight, its other norms by 1 + w
            double normCentre = onePlusW && !name.endsWith("linear_attn.norm.weight") ? 0 : 1;
            String inLayer = LAYER_PREFIX.matcher(name).replaceFirst("");
            double[] recurrent = type.equals("gemma4_text") && inLayer.matches("self_attn\\.[qk]_norm\\.weight")
                    ? GEMMA4_QK_NORM_RANGE : LAYER_RANGES.get(inLayer);
            double low = recurrent != null ? recurrent[0] : norm ? normCentre - 0.2 : name.endsWith(".bias") ? -0.1
                    : type.equals("gpt_oss") && name.endsWith(".experts." + FusedExperts.GATE_UP)
                    ? -GPT_OSS_GATE_UP_RANGE
                    : name.endsWith(".sinks") ? -SINK_RANGE
                    : WIDE_ROUTER_TYPES.contains(type)
                            && (name.endsWith(".mlp.gate.weight") || name.endsWith(".router.proj.weight"))
                    ? -WIDE_ROUTER_RANGE * matrixRange / 0.15
                    : name.endsWith(".moe_statics.e_score_correction_bias") ? -ERNIE_SELECTION_BIAS_RANGE
                    : -matrixRange;
            double high = recurrent != null ? recurrent[1] : norm ? normCentre + 0.2 : -low;
            StateDicts.fill(e.getValue(), () -> random.nextDouble(low, high));
        }
        return model;
    }

    /**
     * The model with a LoRA adapter of rank 4 (alpha 8) on every projection (a mixture of experts': on the attention's,
     * the common case, as an adapter GGUF cannot carry LoRA of single experts; Granite 4's fused input_linear too, and
     * Granite 4.0 H's Mamba-2 in_proj and out_proj; Qwen3.5's DeltaNet projections too, whose value heads the file
     * regroups, LFM2's in_proj and out_proj of its convolution layers beside its attention's; DeepSeek's o_proj and its
     * dense and shared MLPs, the matrices llama.cpp applies adapters to; Qwen3-Next's attention and DeltaNet
     * projections, in_proj_qkvz split in the file; Falcon-H1's attention, MLP and Mamba-2 in_proj, as PEFT refuses its
     * out_proj; Gemma 4's per-layer inputs' gate and projection too, not per_layer_model_projection, which llama.cpp
     * multiplies without adapters, and with its mixture beside the MLP the router's proj), A and B drawn uniformly (A in
     * [-0.15, 0.15), B in [-0.1, 0.1)) from a stream seeded with 7, in name order; the caller closes it.
     */
    PeftModel adapted() throws IOException {
        boolean mixture = config.contains("num_experts_per_tok") || config.contains("moe_k");
        // DeepSeek's queries and latents take no adapter in llama.cpp: o_proj, the dense and shared MLPs do
        String[] targets = latentAttention() ? new String[] {"o_proj", "mlp.gate_proj", "mlp.up_proj",
                "mlp.down_proj", "shared_experts.gate_proj", "shared_experts.up_proj", "shared_experts.down_proj"}
                : config.contains("qwen3_next") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "in_proj_qkvz",
                        "in_proj_ba", "out_proj"}
                : mixture ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}
                : config.contains("phi3") ? new String[] {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}
                : config.contains("\"glm") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj",
                        "down_proj"}
                : config.contains("starcoder2") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"}
                : recurrent() && config.contains("granitemoehybrid") ? new String[] {"q_proj", "k_proj", "v_proj",
                        "o_proj", "in_proj", "out_proj", "input_linear", "output_linear"}
                : config.contains("granitemoehybrid")
                ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "input_linear", "output_linear"}
                : shortConvolution() ? new String[] {"q_proj", "k_proj", "v_proj", "out_proj", "in_proj", "w1", "w2",
                        "w3"}
                // PEFT refuses Falcon-H1's out_proj (PeftFamilies)
                : config.contains("falcon_h1") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "in_proj",
                        "gate_proj", "up_proj", "down_proj"}
                // Gemma 4's mixture beside the MLP: its router's proj too (PEFT meets the stacked experts as parameters)
                : mixtureBesideMlp() ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                        "down_proj", "per_layer_input_gate", "per_layer_projection", "proj"}
                : config.contains("gemma4_text") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                        "up_proj", "down_proj", "per_layer_input_gate", "per_layer_projection"}
                : config.contains("qwen3_5_text") ? new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "in_proj_qkv",
                        "in_proj_z", "in_proj_b", "in_proj_a", "out_proj", "gate_proj", "up_proj", "down_proj"}
                : new String[] {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        PeftModel adapted = Peft.wrap(model(), LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets).build());
        SplittableRandom random = new SplittableRandom(7);
        for (var e : new TreeMap<>(adapted.base().stateDict()).entrySet()) {
            boolean a = e.getKey().endsWith("lora_A.weight");
            if (a || e.getKey().endsWith("lora_B.weight")) {
                StateDicts.fill(e.getValue(), () -> random.nextDouble(a ? -0.15 : -0.1, a ? 0.15 : 0.1));
            }
        }
        return adapted;
    }

    /**
     * Copies the tokenizer out of core's test jar into {@code dir} (for {@link #GEMMA_TOKENIZER}, with the normalizer
     * replaced) and loads it; the caller closes it.
     */
    HfTokenizer loadTokenizer(Path dir) throws IOException {
        boolean gemma = tokenizer.equals(GEMMA_TOKENIZER);
        ReferenceFolders.copy("tokenizer/" + (gemma ? "sentencepiece-bos" : tokenizer),
                List.of("tokenizer.json", "tokenizer_config.json"), dir);
        if (gemma) {
            ObjectMapper json = new ObjectMapper();
            ObjectNode spec = (ObjectNode) json.readTree(dir.resolve("tokenizer.json").toFile());
            ObjectNode replace = spec.putObject("normalizer").put("type", "Replace").put("content", "\u2581");
            replace.putObject("pattern").put("String", " ");
            Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(spec));
        }
        return HfTokenizer.load(dir);
    }

    /** The name, for test reports. */
    @Override
    public String toString() {
        return name;
    }

    static Map<String, ReferenceCase> byName() {
        Map<String, ReferenceCase> out = new TreeMap<>();
        ALL.forEach(c -> out.put(c.name(), c));
        return out;
    }
}
