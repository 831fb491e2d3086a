package dev.finetune4j.peft.mix;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.TargetModules;
import dev.finetune4j.peft.lora.LoraBias;
import dev.finetune4j.peft.lora.LoraConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.function.Function;

/**
 * What {@link AdapterMix} refuses before computing anything, each with what was found and what to do: adapters that
 * are not plain LoRA, adapters of different base models, settings the combined adapter cannot take from one of
 * them, and options that the chosen type would ignore.
 *
 * <p>Thread safety: stateless.
 */
final class MixChecks {
    private MixChecks() {
    }

    /** The LoRA configs of the adapters, after checking that one combined config can describe them all. */
    static List<LoraConfig> loraConfigs(List<WeightedAdapter> adapters) {
        List<LoraConfig> configs = new ArrayList<>();
        for (WeightedAdapter w : adapters) {
            Path dir = w.adapter().dir();
            PeftConfig c = w.adapter().config();
            if (!(c instanceof LoraConfig lora)) {
                throw new PeftException("adapter " + dir + " is not a LoRA adapter (peft_type " + c.peftType()
                        + "): only LoRA adapters can be mixed (rsLoRA included)");
            }
            if (lora.useDora()) {
                throw new PeftException("adapter " + dir + " uses DoRA: its magnitude vectors are not a sum of low-rank "
                        + "updates and cannot be mixed; merge it into the base model (finetune4j merge) or mix LoRA adapters");
            }
            if (lora.bias() != LoraBias.NONE) {
                throw new PeftException("adapter " + dir + " trains biases (bias = " + lora.bias().json() + "), which "
                        + "mixing cannot combine; mix adapters trained with bias = none");
            }
            if (lora.modulesToSave() != null && !lora.modulesToSave().isEmpty()) {
                throw new PeftException("adapter " + dir + " saves whole modules (modules_to_save = " + lora.modulesToSave()
                        + "), which cannot be mixed; mix adapters without modules_to_save (a classifier head cannot be "
                        + "averaged meaningfully)");
            }
            if (lora.targetModules() == null) {
                throw new PeftException("adapter " + dir + " has no target_modules in adapter_config.json; the combined "
                        + "adapter must name its modules: add the list the adapter was trained with");
            }
            configs.add(lora);
        }
        configs = withLeftOutModulesExcluded(configs);
        Path first = adapters.getFirst().adapter().dir();
        for (int i = 1; i < configs.size(); i++) {
            Path dir = adapters.get(i).adapter().dir();
            LoraConfig c = configs.get(i);
            if (c.targetModules().getClass() != configs.getFirst().targetModules().getClass()) {
                throw new PeftException("adapter " + dir + " gives target_modules as " + form(c.targetModules()) + ", adapter "
                        + first + " as " + form(configs.getFirst().targetModules()) + ": give all adapters a list of "
                        + "names, or all a regex (PEFT refuses this mix too)");
            }
            same("fan_in_fan_out", configs, LoraConfig::fanInFanOut, first, dir, i);
            same("layers_to_transform", configs, LoraConfig::layersToTransform, first, dir, i);
            same("layers_pattern", configs, LoraConfig::layersPattern, first, dir, i);
            same("exclude_modules", configs, c2 -> describe(c2.excludeModules()), first, dir, i);
            String trainedOn = baseModelClass(adapters.get(i));
            String firstOn = baseModelClass(adapters.getFirst());
            if (!trainedOn.isEmpty() && !firstOn.isEmpty() && !trainedOn.equals(firstOn)) {
                throw new PeftException("adapter " + dir + " was trained on a " + trainedOn + ", adapter " + first + " on a "
                        + firstOn + ": adapters of different base models cannot be mixed");
            }
        }
        return configs;
    }

    /** Refuses options the type needs but lacks, or has but would ignore. */
    static void options(CombinationType type, MixOptions options) {
        String name = type.pythonName();
        if (type.needsDensity() && options.density() == null) {
            throw new IllegalArgumentException("combination type " + name + " needs a density: the fraction of entries "
                    + "each adapter keeps, in (0, 1] (typical: 0.5)");
        }
        if (!type.needsDensity() && options.density() != null) {
            throw new IllegalArgumentException("density applies to ties, magnitude_prune and the dare types, not to "
                    + name + ": leave it out, or choose one of those types");
        }
        if (!type.usesSvd() && (options.svdRank() != null || options.svdClamp() != null)) {
            throw new IllegalArgumentException("svd_rank and svd_clamp apply to svd and the *_svd types, not to " + name
                    + ": leave them out, or choose an svd type");
        }
    }

    /** Refuses a module whose weight shape differs between adapters: they were made for different base models. */
    static void sameShapes(String module, List<SortedMap<String, AdapterFactors>> factors, List<WeightedAdapter> adapters) {
        AdapterFactors seen = null;
        Path seenIn = null;
        for (int i = 0; i < factors.size(); i++) {
            AdapterFactors f = factors.get(i).get(module);
            if (f == null) {
                continue;
            }
            if (seen != null && !seen.weightShape().equals(f.weightShape())) {
                throw new PeftException("module " + module + " is " + seen.weightShape() + " (out x in) in adapter " + seenIn
                        + " but " + f.weightShape() + " in adapter " + adapters.get(i).adapter().dir() + ": the adapters "
                        + "were trained on different base models and cannot be mixed");
            }
            seen = f;
            seenIn = adapters.get(i).adapter().dir();
        }
    }

    /**
     * The configs, each excluding the modules of the base model's checkpoint class that one of them excludes as left
     * out (a vision tower: {@link TargetModules#excludingUnder}), so that an adapter saved so on a vision-language
     * checkpoint mixes with one saved there without the exclusion (by an older release, or by Python PEFT), which
     * adapts the same modules of the language model.
     */
    private static List<LoraConfig> withLeftOutModulesExcluded(List<LoraConfig> configs) {
        List<String> leftOut = configs.stream().map(c -> TargetModules.prefixesExcludedUnder(c.excludeModules()))
                .filter(p -> !p.isEmpty()).findFirst().orElse(List.of());
        return leftOut.isEmpty() ? configs : configs.stream().map(c -> c.toBuilder()
                .excludeModules(TargetModules.excludingUnder(c.excludeModules(), leftOut)).build()).toList();
    }

    private static <T> void same(String field, List<LoraConfig> configs, Function<LoraConfig, T> value, Path first,
                                 Path dir, int i) {
        T a = value.apply(configs.getFirst());
        T b = value.apply(configs.get(i));
        if (!Objects.equals(a, b)) {
            throw new PeftException("adapter " + dir + " has " + field + " = " + b + ", adapter " + first + " has " + a
                    + ": the combined adapter takes one value, so mix adapters that agree on it");
        }
    }

    private static String describe(TargetModules t) {
        return switch (t) {
            case null -> null;
            case TargetModules.Names n -> n.names().toString();
            case TargetModules.Regex r -> r.regex();
        };
    }

    private static String form(TargetModules t) {
        return t instanceof TargetModules.Regex ? "a regex" : "a list of names";
    }

    private static String baseModelClass(WeightedAdapter w) {
        Map<String, Object> facts = w.adapter().baseModelFacts();
        return facts.get("auto_mapping") instanceof JsonNode mapping ? mapping.path("base_model_class").asText("") : "";
    }
}
