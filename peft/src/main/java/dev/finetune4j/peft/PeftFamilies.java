package dev.finetune4j.peft;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static dev.finetune4j.peft.TargetModules.names;
import static dev.finetune4j.peft.TargetModules.regex;

/**
 * What each base model family means to the PEFT methods, one row per {@code model_type}: the transformers class PEFT
 * records for it, LoRA's default {@code target_modules} (PEFT's {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING}
 * where it has the type, else the attention's query and value projections, which PEFT's users name), IA3's defaults
 * (PEFT's mapping; types it lacks have none) and the sublayers bottleneck adapters follow. A new family is a new row.
 *
 * <p>Thread safety: immutable.
 */
public final class PeftFamilies {

    /**
     * One family's row.
     *
     * @param modelType the config's {@code model_type}
     * @param causalClass the transformers class of the base model PEFT records in {@code auto_mapping}
     * @param classifierClass the class of its sequence classifier where it is another one (BERT's), else the causal one
     * @param loraTargets LoRA's default target modules
     * @param ia3 IA3's default targets, or null where PEFT has none
     * @param adapterSites the sublayers bottleneck adapters follow, or null where none are known
     * @param loraRefused the modules (by their last name) PEFT refuses to adapt with LoRA in this family: a Mamba-based
     *                    model's {@code out_proj} and {@code conv1d}, whose fused kernels read the weights directly
     *                    ({@code _check_lora_target_modules_mamba}); empty elsewhere
     */
    public record Family(String modelType, String causalClass, String classifierClass, TargetModules loraTargets,
                         Ia3Targets ia3, AdapterSites adapterSites, Set<String> loraRefused) {
    }

    /**
     * IA3's defaults.
     *
     * @param targets the modules whose activations are rescaled ({@code target_modules})
     * @param feedForward those of them whose input, not output, is rescaled ({@code feedforward_modules})
     */
    public record Ia3Targets(TargetModules targets, TargetModules feedForward) {
    }

    /**
     * The sublayers bottleneck adapters follow.
     *
     * @param attention the token mixers (attention, and a hybrid's recurrent mixers)
     * @param mlp the feed-forward blocks
     */
    public record AdapterSites(TargetModules attention, TargetModules mlp) {
    }

    private static final TargetModules Q_V = names("q_proj", "v_proj");
    private static final Ia3Targets IA3_KV = new Ia3Targets(names("k_proj", "v_proj", "down_proj"), names("down_proj"));
    private static final Ia3Targets IA3_QV = new Ia3Targets(names("q_proj", "v_proj", "down_proj"), names("down_proj"));
    private static final AdapterSites ATTENTION_MLP = new AdapterSites(names("self_attn"), names("mlp"));
    private static final AdapterSites LINEAR_ATTENTION_MLP = new AdapterSites(names("self_attn", "linear_attn"),
            names("mlp"));
    private static final AdapterSites CONVOLUTION_FEED_FORWARD = new AdapterSites(names("self_attn", "conv"),
            names("feed_forward"));
    private static final AdapterSites SPARSE_MOE = new AdapterSites(names("self_attn"), names("block_sparse_moe"));

    /** q_proj and v_proj of a vision-language class's language model alone (model.language_model.layers.N). */
    private static final TargetModules LANGUAGE_MODEL_Q_V =
            regex("model\\.language_model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)");

    private static final Map<String, Family> BY_TYPE = new LinkedHashMap<>();

    static {
        row("llama", "LlamaForCausalLM", Q_V, IA3_KV, ATTENTION_MLP);
        row("mistral", "MistralForCausalLM", Q_V, IA3_KV, ATTENTION_MLP);
        row("qwen2", "Qwen2ForCausalLM", Q_V, IA3_QV, ATTENTION_MLP);
        row("qwen3", "Qwen3ForCausalLM", Q_V, IA3_QV, ATTENTION_MLP);
        row("gemma", "GemmaForCausalLM", Q_V, IA3_QV, ATTENTION_MLP);
        row("gemma2", "Gemma2ForCausalLM", Q_V, IA3_QV, ATTENTION_MLP);
        row("gemma3_text", "Gemma3ForCausalLM", Q_V, IA3_QV, ATTENTION_MLP);
        // the vision-language classes whose vision towers have q_proj and v_proj too: only the language model's
        row("gemma3", "Gemma3ForConditionalGeneration", LANGUAGE_MODEL_Q_V, null, ATTENTION_MLP);
        row("mistral3", "Mistral3ForConditionalGeneration", LANGUAGE_MODEL_Q_V, null, ATTENTION_MLP);
        row("qwen3_vl", "Qwen3VLForConditionalGeneration", Q_V, null, ATTENTION_MLP);
        row("qwen3_vl_moe", "Qwen3VLMoeForConditionalGeneration", Q_V, null, ATTENTION_MLP);
        row("phi3", "Phi3ForCausalLM", names("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), null, ATTENTION_MLP);
        row("granite", "GraniteForCausalLM", Q_V, null, ATTENTION_MLP);
        row("granitemoe", "GraniteMoeForCausalLM", Q_V, null, SPARSE_MOE);
        row("granitemoeshared", "GraniteMoeSharedForCausalLM", Q_V, null,
                new AdapterSites(names("self_attn"), names("shared_mlp")));
        // the recurrent layers' input projections, so that every layer has an adapter
        row("granitemoehybrid", "GraniteMoeHybridForCausalLM", names("q_proj", "v_proj", "in_proj"), null,
                new AdapterSites(names("self_attn", "mamba"), names("shared_mlp")));
        // PEFT 0.21 has no default for Falcon-H1 (it asks for target_modules): q/v and the Mamba-2 mixers' input
        // projection, beside the attention in every layer
        row("falcon_h1", "FalconH1ForCausalLM", names("q_proj", "v_proj", "in_proj"), null,
                new AdapterSites(names("self_attn", "mamba"), names("feed_forward")), Set.of("out_proj", "conv1d"));
        // PEFT 0.21's default: the attention layers' four projections (the Mamba-2 and MLP layers keep none); each
        // layer is one block, its mixer, which bottleneck adapters follow whatever it is
        row("nemotron_h", "NemotronHForCausalLM", names("q_proj", "k_proj", "v_proj", "o_proj"), null,
                new AdapterSites(names("mixer"), names("mixer")), Set.of("out_proj", "conv1d"));
        row("olmo2", "Olmo2ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("olmo3", "Olmo3ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("smollm3", "SmolLM3ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("glm", "GlmForCausalLM", Q_V, null, ATTENTION_MLP);
        row("glm4", "Glm4ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("ernie4_5", "Ernie4_5ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("cohere", "CohereForCausalLM", Q_V, null, ATTENTION_MLP);
        row("cohere2", "Cohere2ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("exaone4", "Exaone4ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("seed_oss", "SeedOssForCausalLM", Q_V, null, ATTENTION_MLP);
        row("hunyuan_v1_dense", "HunYuanDenseV1ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("starcoder2", "Starcoder2ForCausalLM", Q_V, null, ATTENTION_MLP);
        row("arcee", "ArceeForCausalLM", Q_V, null, ATTENTION_MLP);
        row("apertus", "ApertusForCausalLM", Q_V, null, ATTENTION_MLP);
        // PEFT 0.21 maps neither Ministral: Mistral's q_proj/v_proj written out, without Mistral's IA3 row
        row("ministral", "MinistralForCausalLM", Q_V, null, ATTENTION_MLP);
        row("ministral3", "Ministral3ForCausalLM", Q_V, null, ATTENTION_MLP);
        // PEFT 0.21 has a default for gemma4 (its language model's q/v, by regex) but none for gemma4_text: q/v, which
        // the full layers with attention_k_eq_v and the kv-shared layers hold only q_proj of
        row("gemma4_text", "Gemma4ForCausalLM", Q_V, null, ATTENTION_MLP);
        // PEFT 0.21's own default for gemma4, a regex: the language model's q/v, not the towers'
        row("gemma4", "Gemma4ForConditionalGeneration", regex(".*language_model\\..*\\.(q_proj|v_proj)"), null,
                ATTENTION_MLP);
        row("lfm2", "Lfm2ForCausalLM", names("q_proj", "v_proj", "in_proj"), null, CONVOLUTION_FEED_FORWARD);
        row("lfm2_moe", "Lfm2MoeForCausalLM", names("q_proj", "v_proj", "in_proj"), null, CONVOLUTION_FEED_FORWARD);
        row("mixtral", "MixtralForCausalLM", Q_V, null, SPARSE_MOE);
        row("qwen2_moe", "Qwen2MoeForCausalLM", Q_V, null, ATTENTION_MLP);
        row("qwen3_moe", "Qwen3MoeForCausalLM", Q_V, null, ATTENTION_MLP);
        row("olmoe", "OlmoeForCausalLM", Q_V, null, ATTENTION_MLP);
        row("gpt_oss", "GptOssForCausalLM", Q_V, null, ATTENTION_MLP);
        row("glm4_moe", "Glm4MoeForCausalLM", Q_V, null, ATTENTION_MLP);
        row("ernie4_5_moe", "Ernie4_5_MoeForCausalLM", Q_V, null, ATTENTION_MLP);
        // the latent attention has no v_proj: the queries' last projection and the latent's expansion into keys and values
        row("deepseek_v3", "DeepseekV3ForCausalLM", names("q_proj", "q_b_proj", "kv_b_proj"), null, ATTENTION_MLP);
        row("deepseek_v2", "DeepseekV2ForCausalLM", names("q_proj", "q_b_proj", "kv_b_proj"), null, ATTENTION_MLP);
        // PEFT 0.21 maps no Mistral 4: DeepSeek-V3's latent-attention row
        row("mistral4", "Mistral4ForCausalLM", names("q_proj", "q_b_proj", "kv_b_proj"), null, ATTENTION_MLP);
        // the gated DeltaNet layers' queries, keys and values (Qwen3-Next's with its output gate) at once
        row("qwen3_5_text", "Qwen3_5ForCausalLM", names("q_proj", "v_proj", "in_proj_qkv"), null, LINEAR_ATTENTION_MLP);
        row("qwen3_5_moe_text", "Qwen3_5MoeForCausalLM", names("q_proj", "v_proj", "in_proj_qkv"), null,
                LINEAR_ATTENTION_MLP);
        row("qwen3_next", "Qwen3NextForCausalLM", names("q_proj", "v_proj", "in_proj_qkvz"), null, LINEAR_ATTENTION_MLP);
        row("gpt2", "GPT2LMHeadModel", names("c_attn"), new Ia3Targets(names("c_attn", "mlp.c_proj"),
                names("mlp.c_proj")), new AdapterSites(regex(".*\\.h\\.\\d+\\.attn"), regex(".*\\.h\\.\\d+\\.mlp")));
        // the encoders: their base class and a classifier class of their own; output.dense names both the attention's
        // output and the MLP's second projection
        Ia3Targets bertIa3 = new Ia3Targets(names("key", "value", "output.dense"), names("output.dense"));
        AdapterSites bertSites = new AdapterSites(names("attention.output.dense"),
                regex(".*\\.layer\\.\\d+\\.output\\.dense"));
        encoder("bert", "Bert", names("query", "value"), bertIa3, bertSites);
        encoder("roberta", "Roberta", names("query", "value"), bertIa3, bertSites);
        // PEFT has no IA3 default for XLM-RoBERTa (RoBERTa's here) and none at all for DistilBERT (BERT's modules under
        // its names); they are written out in the saved config
        encoder("xlm-roberta", "XLMRoberta", names("query", "value"), bertIa3, bertSites);
        encoder("distilbert", "DistilBert", names("q_lin", "v_lin"),
                new Ia3Targets(names("k_lin", "v_lin", "out_lin", "lin2"), names("out_lin", "lin2")),
                new AdapterSites(names("out_lin"), names("lin2")));
    }

    private PeftFamilies() {
    }

    private static void row(String modelType, String causalClass, TargetModules lora, Ia3Targets ia3,
                            AdapterSites adapterSites) {
        row(modelType, causalClass, lora, ia3, adapterSites, Set.of());
    }

    private static void row(String modelType, String causalClass, TargetModules lora, Ia3Targets ia3,
                            AdapterSites adapterSites, Set<String> loraRefused) {
        BY_TYPE.put(modelType, new Family(modelType, causalClass, causalClass, lora, ia3, adapterSites, loraRefused));
    }

    private static void encoder(String modelType, String classPrefix, TargetModules lora, Ia3Targets ia3,
                                AdapterSites adapterSites) {
        BY_TYPE.put(modelType, new Family(modelType, classPrefix + "Model", classPrefix + "ForSequenceClassification",
                lora, ia3, adapterSites, Set.of()));
    }

    /**
     * The row of a {@code model_type}.
     *
     * @param modelType the base model's {@code model_type}
     * @return its row, or empty for a type this library does not know
     */
    public static Optional<Family> of(String modelType) {
        return Optional.ofNullable(BY_TYPE.get(modelType));
    }

    /**
     * The transformers class PEFT records in {@code auto_mapping} for a base model.
     *
     * @param modelType the base model's {@code model_type}
     * @param classifier true for the sequence-classification class
     * @return the class name ({@code LlamaForCausalLM}), or null for a type this library does not know
     */
    public static String architecture(String modelType, boolean classifier) {
        return of(modelType).map(f -> classifier ? f.classifierClass() : f.causalClass()).orElse(null);
    }

    /**
     * Every row, in the table's order.
     *
     * @return the families
     */
    public static List<Family> all() {
        return List.copyOf(BY_TYPE.values());
    }
}
