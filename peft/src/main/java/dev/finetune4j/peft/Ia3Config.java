package dev.finetune4j.peft;

import java.util.List;

/**
 * IA3 (Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
 * Learning"): learned vectors that rescale the outputs of targeted layers, or the inputs of feed-forward ones.
 *
 * @param targetModules      modules to rescale; null means the model family's default
 * @param feedforwardModules the subset of targets whose input (not output) is rescaled; null means the default
 * @param fanInFanOut        the base weights are stored (in, out), as GPT-2's Conv1D
 * @param initIa3Weights     start from ones (a no-op); false draws N(0, 1) as PEFT does
 * @param modulesToSave      modules trained fully and saved with the adapter, or null
 * @param taskType           PEFT's {@code task_type}, or null
 */
public record Ia3Config(TargetModules targetModules, TargetModules feedforwardModules, boolean fanInFanOut,
                        boolean initIa3Weights, List<String> modulesToSave, String taskType) implements PeftConfig {

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
                TargetModules.names(feedforwardModules.toArray(String[]::new)), false, true, null, "CAUSAL_LM");
    }

    @Override
    public String peftType() {
        return "IA3";
    }
}
