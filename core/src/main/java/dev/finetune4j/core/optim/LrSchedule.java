package dev.finetune4j.core.optim;

/**
 * Learning-rate multipliers with linear warm-up, as Hugging Face's {@code get_constant_schedule_with_warmup},
 * {@code get_linear_schedule_with_warmup} and {@code get_cosine_schedule_with_warmup} (half a cosine wave).
 *
 * @param type        shape after warm-up
 * @param warmupSteps steps rising linearly from 0 to 1
 * @param totalSteps  steps of the whole run (linear and cosine reach 0 there)
 */
public record LrSchedule(Type type, int warmupSteps, int totalSteps) {

    public enum Type { CONSTANT, LINEAR, COSINE }

    public LrSchedule {
        if (warmupSteps < 0 || totalSteps < 0) {
            throw new IllegalArgumentException("warm-up and total steps must be >= 0, got " + warmupSteps + ", " + totalSteps);
        }
    }

    /** The multiplier of the base learning rate after {@code step} scheduler steps (0-based). */
    public double multiplier(int step) {
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        double remaining = Math.max(1, totalSteps - warmupSteps);
        return switch (type) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (totalSteps - step) / remaining);
            case COSINE -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * (step - warmupSteps) / remaining)));
        };
    }
}
