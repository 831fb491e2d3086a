package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import dev.finetune4j.peft.qlora.QloraInjector;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Wraps a base model with the PEFT method a {@code train} config names, reading the method's settings from the
 * config's {@code peft} section under Hugging Face PEFT's {@code adapter_config.json} names.
 *
 * <p>NOTE: the peft module reads these names only from saved adapter folders (package-private), so the mapping is
 * repeated here for the settings a training run needs.
 */
final class PeftMethods {
    static final List<String> METHODS = List.of("lora", "dora", "qlora", "ia3", "prefix", "prompt", "adapter", "freeze");
    private static final Set<String> LORA_KEYS = Set.of("r", "lora_alpha", "lora_dropout", "target_modules",
            "use_rslora", "modules_to_save", "layers_to_transform");

    private PeftMethods() {
    }

    /** The method's adapter on {@code base}; settings the method refuses are bad input. */
    static PeftModel wrap(LanguageModel base, String method, ObjectNode peft, long seed) {
        try {
            return create(base, method, peft, seed);
        } catch (IllegalArgumentException | PeftException e) {
            throw new BadInputException("invalid 'peft' settings for method " + method + ": " + e.getMessage(), e);
        }
    }

    private static PeftModel create(LanguageModel base, String method, ObjectNode peft, long seed) {
        JsonNode p = peft == null ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode() : peft;
        String m = method == null ? "lora" : method.toLowerCase(java.util.Locale.ROOT);
        return switch (m) {
            case "lora" -> Peft.wrap(base, lora(p, false), seed);
            case "dora" -> Peft.wrap(base, lora(p, true), seed);
            case "qlora" -> QloraInjector.wrap(base, lora(p, false));
            case "ia3" -> {
                allow(p, m, Set.of("target_modules", "feedforward_modules"));
                yield Peft.wrap(base, p.has("target_modules")
                        ? Ia3Config.of(strings(p, "target_modules"), strings(p, "feedforward_modules"))
                        : new Ia3Config(null, null, false, true, null, "CAUSAL_LM"), seed);
            }
            case "prefix" -> {
                allow(p, m, Set.of("num_virtual_tokens", "prefix_projection", "encoder_hidden_size"));
                yield Peft.wrap(base, new PrefixTuningConfig(count(p, "num_virtual_tokens", 16, ConfigLimits.POSITIONS),
                        p.path("prefix_projection").asBoolean(false), JsonFields.integer(p, "encoder_hidden_size", 0, 0, ConfigLimits.HIDDEN, "peft"),
                        "CAUSAL_LM"), seed);
            }
            case "prompt" -> {
                allow(p, m, Set.of("num_virtual_tokens"));
                yield Peft.wrap(base, PromptTuningConfig.of(count(p, "num_virtual_tokens", 16, ConfigLimits.POSITIONS)), seed);
            }
            case "adapter" -> {
                allow(p, m, Set.of("placement", "reduction_factor", "non_linearity"));
                yield Peft.wrap(base, new BottleneckConfig(
                        PreparePipeline.enumValue(BottleneckConfig.Placement.class, p.path("placement").asText("houlsby"),
                                "peft.placement"),
                        count(p, "reduction_factor", 16, ConfigLimits.HIDDEN),
                        PreparePipeline.enumValue(Activations.Kind.class, p.path("non_linearity").asText("relu"),
                                "peft.non_linearity"), "CAUSAL_LM"), seed);
            }
            case "freeze" -> {
                allow(p, m, Set.of("top_layers", "trainable_names"));
                yield Peft.wrap(base, new FreezeConfig(JsonFields.integer(p, "top_layers", 0, 0, ConfigLimits.LAYERS, "peft"),
                        p.has("trainable_names") ? strings(p, "trainable_names") : List.of(), "CAUSAL_LM"), seed);
            }
            default -> throw new BadInputException("unknown method '" + method + "'; use one of " + METHODS);
        };
    }

    private static LoraConfig lora(JsonNode p, boolean dora) {
        allow(p, dora ? "dora" : "lora", LORA_KEYS);
        LoraConfig.Builder b = LoraConfig.builder().r(count(p, "r", 8, ConfigLimits.HIDDEN)).loraAlpha(JsonFields.number(p, "lora_alpha", 16, "peft"))
                .loraDropout(JsonFields.number(p, "lora_dropout", 0.0, "peft")).useRslora(p.path("use_rslora").asBoolean(false))
                .useDora(dora);
        JsonNode targets = p.get("target_modules");
        if (targets != null && targets.isTextual()) {
            b.targetModulesRegex(targets.asText());
        } else if (targets != null) {
            b.targetModules(strings(p, "target_modules").toArray(String[]::new));
        }
        if (p.has("modules_to_save")) {
            b.modulesToSave(strings(p, "modules_to_save").toArray(String[]::new));
        }
        if (p.has("layers_to_transform")) {
            List<Integer> layers = new ArrayList<>();
            p.get("layers_to_transform").forEach(n -> layers.add(JsonFields.exactInteger(n, "layers_to_transform", 0, ConfigLimits.LAYERS, "peft")));
            b.layersToTransform(layers.toArray(Integer[]::new));
        }
        return b.build();
    }

    /** A positive integer setting, exactly (4.7 is refused, not read as 4). */
    private static int count(JsonNode p, String key, int fallback, int max) {
        return JsonFields.integer(p, key, fallback, 1, max, "peft");
    }

    private static void allow(JsonNode p, String method, Set<String> keys) {
        for (Iterator<String> it = p.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!keys.contains(k)) {
                throw new BadInputException("unknown key 'peft." + k + "' for method " + method + "; accepted: "
                        + new TreeSet<>(keys));
            }
        }
    }

    private static List<String> strings(JsonNode p, String key) {
        JsonNode n = p.get(key);
        if (n == null || !n.isArray()) {
            throw new BadInputException("'peft." + key + "' must be a list of names, e.g. [q_proj, v_proj]");
        }
        List<String> out = new ArrayList<>();
        n.forEach(v -> out.add(v.asText()));
        return out;
    }
}
