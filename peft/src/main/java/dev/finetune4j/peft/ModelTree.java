package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Finding modules of a base model by PEFT's rules, and the error that lists what exists when nothing matches.
 *
 * <p>Thread safety: stateless.
 */
public final class ModelTree {
    private ModelTree() {
    }

    /**
     * Dotted paths of the modules under {@code root} that {@code matches}, in tree order, skipping the insides of
     * an earlier match.
     *
     * @param root the model's root module
     * @param matches tests a dotted path
     * @param what what is being selected, for the message
     * @return the matching paths
     * @throws PeftException naming the model's linear modules when nothing matches
     */
    public static List<String> select(Module root, Predicate<String> matches, String what) {
        List<String> out = new ArrayList<>();
        for (String path : root.namedModules().keySet()) {
            if (path.isEmpty() || out.stream().anyMatch(p -> path.startsWith(p + "."))) {
                continue;
            }
            if (matches.test(path)) {
                out.add(path);
            }
        }
        if (out.isEmpty()) {
            throw new PeftException(what + " matches no module of the base model. Its linear modules are "
                    + linearNames(root) + " (full paths look like '" + firstLinearPath(root) + "'); "
                    + "give names from this list, or a regex matching whole paths");
        }
        return out;
    }

    /**
     * Distinct last segments of the paths of every linear module, in tree order.
     *
     * @param root the model's root module
     * @return names such as {@code q_proj}
     */
    public static Set<String> linearNames(Module root) {
        Set<String> names = new LinkedHashSet<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            if (e.getValue() instanceof Linear || e.getValue() instanceof BaseLinear) {
                names.add(e.getKey().substring(e.getKey().lastIndexOf('.') + 1));
            }
        }
        return names;
    }

    private static String firstLinearPath(Module root) {
        return root.namedModules().entrySet().stream().filter(e -> e.getValue() instanceof Linear)
                .map(Map.Entry::getKey).findFirst().orElse("");
    }

    /**
     * The transformers class of a model_type's base model, as PEFT records it in {@code auto_mapping}
     * ({@code LlamaForCausalLM}); null for a type this library does not know.
     *
     * @param modelType the base model's {@code model_type}
     * @param classifier true for the sequence-classification class
     * @return the class name, or null
     */
    public static String architecture(String modelType, boolean classifier) {
        return switch (modelType) {
            case "llama" -> "LlamaForCausalLM";
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "gemma" -> "GemmaForCausalLM";
            case "gemma2" -> "Gemma2ForCausalLM";
            case "gemma3_text" -> "Gemma3ForCausalLM";
            case "gemma3" -> "Gemma3ForConditionalGeneration";
            case "qwen3_vl" -> "Qwen3VLForConditionalGeneration";
            case "qwen3_vl_moe" -> "Qwen3VLMoeForConditionalGeneration";
            case "phi3" -> "Phi3ForCausalLM";
            case "granite" -> "GraniteForCausalLM";
            case "granitemoe" -> "GraniteMoeForCausalLM";
            case "granitemoeshared" -> "GraniteMoeSharedForCausalLM";
            case "granitemoehybrid" -> "GraniteMoeHybridForCausalLM";
            case "olmo2" -> "Olmo2ForCausalLM";
            case "olmo3" -> "Olmo3ForCausalLM";
            case "smollm3" -> "SmolLM3ForCausalLM";
            case "glm" -> "GlmForCausalLM";
            case "glm4" -> "Glm4ForCausalLM";
            case "ernie4_5" -> "Ernie4_5ForCausalLM";
            case "cohere" -> "CohereForCausalLM";
            case "cohere2" -> "Cohere2ForCausalLM";
            case "exaone4" -> "Exaone4ForCausalLM";
            case "seed_oss" -> "SeedOssForCausalLM";
            case "hunyuan_v1_dense" -> "HunYuanDenseV1ForCausalLM";
            case "starcoder2" -> "Starcoder2ForCausalLM";
            case "arcee" -> "ArceeForCausalLM";
            case "lfm2" -> "Lfm2ForCausalLM";
            case "lfm2_moe" -> "Lfm2MoeForCausalLM";
            case "glm4_moe" -> "Glm4MoeForCausalLM";
            case "ernie4_5_moe" -> "Ernie4_5_MoeForCausalLM";
            case "deepseek_v3" -> "DeepseekV3ForCausalLM";
            case "deepseek_v2" -> "DeepseekV2ForCausalLM";
            case "qwen3_next" -> "Qwen3NextForCausalLM";
            case "mixtral" -> "MixtralForCausalLM";
            case "qwen2_moe" -> "Qwen2MoeForCausalLM";
            case "qwen3_moe" -> "Qwen3MoeForCausalLM";
            case "olmoe" -> "OlmoeForCausalLM";
            case "gpt_oss" -> "GptOssForCausalLM";
            case "qwen3_5_text" -> "Qwen3_5ForCausalLM";
            case "qwen3_5_moe_text" -> "Qwen3_5MoeForCausalLM";
            case "gpt2" -> "GPT2LMHeadModel";
            case "bert" -> classifier ? "BertForSequenceClassification" : "BertModel";
            case "roberta" -> classifier ? "RobertaForSequenceClassification" : "RobertaModel";
            case "xlm-roberta" -> classifier ? "XLMRobertaForSequenceClassification" : "XLMRobertaModel";
            case "distilbert" -> classifier ? "DistilBertForSequenceClassification" : "DistilBertModel";
            default -> null;
        };
    }
}
