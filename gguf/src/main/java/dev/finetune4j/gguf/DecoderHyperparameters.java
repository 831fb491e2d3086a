package dev.finetune4j.gguf;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.MoeConfig;
import dev.finetune4j.core.models.decoder.RopeConfig;
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
 * (1/sqrt(head_dim); Gemma 2 27B and Gemma 3 27B, recognised by their layer count, 1/sqrt(hidden/heads)), the rotary
 * embedding over whole heads (but Phi-3's), Gemma and Gemma 2's tied output head and Gemma 2's two soft caps; for the
 * mixtures of experts (Mixtral as {@code llama}, {@code qwen2moe}, {@code qwen3moe}) whether every layer routes,
 * whether the routing weights are renormalised and Qwen2-MoE's shared expert.
 */
final class DecoderHyperparameters {
    private static final Logger LOG = LoggerFactory.getLogger(DecoderHyperparameters.class);
    /** The model_type values exported, each with its GGUF architecture. */
    static final Map<String, String> ARCHITECTURES = Map.ofEntries(Map.entry("llama", "llama"),
            Map.entry("mistral", "llama"), Map.entry("mixtral", "llama"), Map.entry("qwen2", "qwen2"),
            Map.entry("qwen2_moe", "qwen2moe"), Map.entry("qwen3", "qwen3"), Map.entry("qwen3_moe", "qwen3moe"),
            Map.entry("gemma", "gemma"), Map.entry("gemma2", "gemma2"), Map.entry("gemma3_text", "gemma3"),
            Map.entry("phi3", "phi3"));
    /** llama.cpp's {@code LLAMA_MAX_EXPERTS}: a file with more experts per layer fails to load. */
    private static final int MAX_EXPERTS = 1024;

    private final DecoderConfig config;
    private final String architecture;

    DecoderHyperparameters(DecoderConfig config) {
        this.config = config;
        this.architecture = ARCHITECTURES.get(config.modelType());
        if (architecture == null) {
            throw new IllegalArgumentException("GGUF export supports model_type " + supportedTypes() + ", not '"
                    + config.modelType() + "'; save the model (merged) as a Hugging Face folder and convert it with "
                    + "llama.cpp's convert_hf_to_gguf.py");
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

    private void refuseWhatGgufCannotSay() {
        boolean phi3 = architecture.equals("phi3");
        if (config.rotaryDim() != config.headDim() && !phi3) {
            cannot("a partial rotary embedding (" + config.rotaryDim() + " of " + config.headDim() + " dimensions)");
        }
        Activations.Kind act = isGemma() ? Activations.Kind.GELU_TANH : Activations.Kind.SILU;
        if (config.hiddenAct() != act) {
            cannot("the activation " + config.hiddenAct() + " (it computes " + act + ")");
        }
        Set<String> ropes = switch (architecture) {
            case "llama" -> Set.of("default", "linear", "llama3");
            case "phi3" -> Set.of("default", "longrope");
            default -> Set.of("default", "linear");
        };
        if (!ropes.contains(config.rope().ropeType())) {
            cannot("rope_type '" + config.rope().ropeType() + "' (supported here: "
                    + String.join(", ", ropes.stream().sorted().toList()) + ")");
        }
        if (config.localRope() != config.rope() && !config.localRope().ropeType().equals("default")) {
            cannot("scaling of the sliding layers' rotary embedding ('" + config.localRope().ropeType() + "')");
        }
        if (config.mlpBias()) {
            cannot("MLP biases (mlp_bias)");
        }
        if (config.attentionBias() && !architecture.equals("qwen2") && !architecture.equals("qwen2moe")) {
            cannot("attention biases (attention_bias)");
        }
        if (!config.tieWordEmbeddings() && (architecture.equals("gemma") || architecture.equals("gemma2"))) {
            cannot("an output head apart from the token embeddings (tie_word_embeddings false)");
        }
        boolean gemma2 = architecture.equals("gemma2");
        if (gemma2 ? config.attnLogitSoftcapping() == 0 || config.finalLogitSoftcapping() == 0
                : config.attnLogitSoftcapping() != 0 || (config.finalLogitSoftcapping() != 0 && !architecture.equals("gemma3"))) {
            cannot(gemma2 ? "Gemma 2 without its soft caps" : "soft caps");
        }
        double expected = 1 / Math.sqrt(headDimForScale());
        if (Math.abs(config.attentionScale() / expected - 1) > 1e-6) {
            cannot("an attention scale of " + config.attentionScale() + " (query_pre_attn_scalar; it uses " + expected + ")");
        }
        if (config.moe() != null) {
            refuseWhatTheMixtureCannotSay(config.moe());
        }
        boolean sliding = anySliding();
        boolean slidingArch = gemma2 || architecture.equals("gemma3");
        boolean windowIgnored = architecture.equals("llama") || phi3;
        if (sliding && !slidingArch && !windowIgnored) {
            cannot("sliding-window layers (use_sliding_window)");
        }
        if (sliding && windowIgnored && config.slidingWindow() < config.maxPositionEmbeddings()) {
            // NOTE: llama.cpp drops Mistral's window (convert_hf_to_gguf.py) and switches Phi-3's off when it loads
            LOG.warn("{}'s sliding window of {} tokens is not applied by llama.cpp's {} architecture: it attends to "
                    + "the whole context, which differs from this model on sequences longer than the window",
                    config.modelType(), config.slidingWindow(), architecture);
        }
    }

    /**
     * What llama.cpp's mixtures fix (src/models/llama.cpp, qwen2moe.cpp, qwen3moe.cpp): every layer routes (each
     * requires its {@code ffn_gate_inp}), the k routing weights are renormalised for llama (Mixtral) and qwen3moe and
     * used as they are for qwen2moe (none of them reads {@code expert_weights_norm}), qwen2moe always adds its shared
     * expert and needs its own output head.
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
        boolean renormalises = !architecture.equals("qwen2moe");
        if (moe.normTopkProb() != renormalises) {
            cannot("norm_topk_prob " + moe.normTopkProb() + " (its graph " + (renormalises ? "always renormalises"
                    : "never renormalises") + " the " + moe.numExpertsPerTok() + " routing weights of a token)");
        }
        if (architecture.equals("qwen2moe") && moe.sharedExpertIntermediateSize() == 0) {
            cannot("a mixture without a shared expert (shared_expert_intermediate_size 0; its graph requires one)");
        }
        if (architecture.equals("qwen2moe") && config.tieWordEmbeddings()) {
            cannot("an output head tied to the token embeddings (tie_word_embeddings true; it requires output.weight)");
        }
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

    /** The head size llama.cpp's attention scale is computed from. */
    private double headDimForScale() {
        boolean big = architecture.equals("gemma2") && config.numHiddenLayers() == 46
                || architecture.equals("gemma3") && config.numHiddenLayers() == 62;
        return big ? (double) config.hiddenSize() / config.numAttentionHeads() : config.headDim();
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
        throw new IllegalArgumentException("GGUF's " + architecture + " architecture cannot express " + what
                + " of this " + config.modelType() + " model, so llama.cpp would compute a different model; export "
                + "it to ONNX instead (OnnxExporter, finetune4j export-onnx)");
    }

    /** The architecture's keys, {@code <arch>.*}. */
    void put(GgufMetadata meta) {
        String a = architecture + ".";
        if (architecture.equals("llama")) {
            meta.putUint32(a + "vocab_size", config.vocabSize());
        }
        meta.putUint32(a + "context_length", config.maxPositionEmbeddings())
                .putUint32(a + "embedding_length", config.hiddenSize())
                .putUint32(a + "block_count", config.numHiddenLayers())
                .putUint32(a + "feed_forward_length", config.intermediateSize())
                .putUint32(a + "attention.head_count", config.numAttentionHeads())
                .putUint32(a + "attention.head_count_kv", config.numKeyValueHeads())
                .putUint32(a + "attention.key_length", config.headDim())
                .putUint32(a + "attention.value_length", config.headDim())
                .putFloat32(a + "attention.layer_norm_rms_epsilon", config.rmsNormEps())
                .putFloat32(a + "rope.freq_base", config.rope().ropeTheta())
                .putUint32(a + "rope.dimension_count", config.rotaryDim());
        RopeConfig rope = config.rope();
        if (rope.ropeType().equals("longrope")) {
            // llama.cpp picks rope_factors_long when its context exceeds this length, else rope_factors_short
            meta.putUint32(a + "rope.scaling.original_context_length", rope.originalMaxPositionEmbeddings())
                    .putFloat32(a + "rope.scaling.attn_factor", longropeAttentionFactor(rope));
        }
        if (rope.ropeType().equals("linear")) {
            meta.putString(a + "rope.scaling.type", "linear").putFloat32(a + "rope.scaling.factor", rope.factor());
        }
        MoeConfig moe = config.moe();
        if (moe != null) {
            // llama (Mixtral) sizes its experts by feed_forward_length, the Qwen mixtures by their own key
            meta.putUint32(a + "expert_count", moe.numExperts())
                    .putUint32(a + "expert_used_count", moe.numExpertsPerTok());
            if (!architecture.equals("llama")) {
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
        if (anySliding() && !architecture.equals("llama")) {
            meta.putUint32(a + "attention.sliding_window", config.slidingWindow())
                    .putBools(a + "attention.sliding_window_pattern", config.slidingLayers())
                    .putFloat32(a + "rope.freq_base_swa", config.localRope().ropeTheta());
        }
    }
}
