package dev.finetune4j.peft.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftJson;
import dev.finetune4j.peft.TargetModules;

import java.util.List;

/**
 * IA3 (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
 * Learning"): learned vectors that rescale the outputs of targeted layers, or the inputs of feed-forward ones.
 *
 * @param targetModules      modules to rescale; null means the model family's default
 * @param feedforwardModules the subset of targets whose input (not output) is rescaled; null means the default
 * @param excludeModules     modules never to rescale even where the targets match them, or null
 * @param fanInFanOut        the base weights are stored (in, out), as GPT-2's Conv1D
 * @param initIa3Weights     start from ones (a no-op); false draws N(0, 1) as PEFT does
 * @param modulesToSave      modules trained fully and saved with the adapter, or null
 * @param taskType           PEFT's {@code task_type}, or null
 */
public record Ia3Config(TargetModules targetModules, TargetModules feedforwardModules, TargetModules excludeModules,
                        boolean fanInFanOut, boolean initIa3Weights, List<String> modulesToSave, String taskType) implements PeftConfig {
    /** PEFT's {@code peft_type} of this method. */
    public static final String PEFT_TYPE = "IA3";


    /** Copies the modules to save and checks that target and feed-forward modules are both given or both left out. */
    public Ia3Config {
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        if ((targetModules == null) != (feedforwardModules == null)) {
            throw new IllegalArgumentException("target_modules and feedforward_modules must both be given or both left "
                    + "out (defaults per model type); feedforward_modules must be a subset of target_modules");
        }
    }

    /**
     * Rescales the given modules' outputs ({@code feedforward} ones: their inputs), starting from ones.
     *
     * @param targetModules names of the modules to rescale
     * @param feedforwardModules the subset of {@code targetModules} whose inputs are rescaled
     * @return the configuration, for a causal LM
     */
    public static Ia3Config of(List<String> targetModules, List<String> feedforwardModules) {
        return new Ia3Config(TargetModules.names(targetModules.toArray(String[]::new)),
                TargetModules.names(feedforwardModules.toArray(String[]::new)), null, false, true, null, "CAUSAL_LM");
    }

    /**
     * This config with another exclusion.
     *
     * @param exclude the modules never to rescale, or null
     * @return the config with {@code exclude} in place of {@link #excludeModules()}
     */
    public Ia3Config withExcludeModules(TargetModules exclude) {
        return new Ia3Config(targetModules, feedforwardModules, exclude, fanInFanOut, initIa3Weights, modulesToSave, taskType);
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The IA3 config of an {@code adapter_config.json} object, with PEFT's defaults for absent fields.
     *
     * @param c the JSON object
     * @return the config
     * @throws IllegalArgumentException when a field is invalid
     */
    public static Ia3Config fromJson(JsonNode c) {
        return new Ia3Config(PeftJson.targets(c.get("target_modules"), "target_modules"),
                PeftJson.targets(c.get("feedforward_modules"), "feedforward_modules"),
                PeftJson.targets(c.get("exclude_modules"), "exclude_modules"), c.path("fan_in_fan_out").asBoolean(false), c.path("init_ia3_weights").asBoolean(true),
                PeftJson.strings(c.get("modules_to_save")), PeftJson.text(c, "task_type"));
    }

    /**
     * Writes this config's fields under PEFT's names.
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        PeftJson.putTargets(o, "target_modules", targetModules);
        PeftJson.putTargets(o, "feedforward_modules", feedforwardModules);
        PeftJson.putTargets(o, "exclude_modules", excludeModules);
        o.put("fan_in_fan_out", fanInFanOut);
        o.put("init_ia3_weights", initIa3Weights);
        PeftJson.putStrings(o, "modules_to_save", modulesToSave);
    }
}
