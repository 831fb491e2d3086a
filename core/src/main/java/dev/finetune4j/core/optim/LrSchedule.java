package dev.finetune4j.core.optim;

/**
 * Learning-rate multipliers with linear warm-up, equal in double precision to Hugging Face transformers'
 * {@code get_constant_schedule}, {@code get_constant_schedule_with_warmup},
 * {@code get_linear_schedule_with_warmup} and {@code get_cosine_schedule_with_warmup} (half a cosine wave,
 * {@code num_cycles=0.5}), each a {@code LambdaLR} multiplier of the base learning rate. As there, the cosine
 * rises again after {@code totalSteps}: a run is meant to end at {@code totalSteps}. Immutable.
 *
 * <pre>{@code
 * LrSchedule s = LrSchedule.cosineWithWarmup(100, 1000);
 * optimizer.setLearningRate(baseLr * s.multiplier(step));   // step = scheduler steps taken so far, from 0
 * }</pre>
 *
 * @param type        shape after warm-up
 * @param warmupSteps steps rising linearly from 0 to 1
 * @param totalSteps  steps of the whole run (linear and cosine reach 0 there; unused by constant)
 */
public record LrSchedule(Type type, int warmupSteps, int totalSteps) {

    /** Shape of the multiplier after warm-up. */
    public enum Type {
        /** Stays at 1. */
        CONSTANT,
        /** Falls linearly to 0 at {@code totalSteps}. */
        LINEAR,
        /** Falls along half a cosine wave to 0 at {@code totalSteps}. */
        COSINE
    }

    /** Checks that the type is present and both step counts are not negative. */
    public LrSchedule {
        if (type == null || warmupSteps < 0 || totalSteps < 0) {
            throw new IllegalArgumentException("a schedule needs a type and warm-up and total steps >= 0, got type=" + type
                    + ", warmupSteps=" + warmupSteps + ", totalSteps=" + totalSteps);
        }
    }

    /**
     * Always 1 ({@code get_constant_schedule}).
     *
     * @return the constant schedule
     */
    public static LrSchedule constant() {
        return new LrSchedule(Type.CONSTANT, 0, 0);
    }

    /**
     * {@code get_constant_schedule_with_warmup}.
     *
     * @param warmupSteps steps rising linearly from 0 to 1, {@code >= 0}
     * @return the schedule
     */
    public static LrSchedule constantWithWarmup(int warmupSteps) {
        return new LrSchedule(Type.CONSTANT, warmupSteps, 0);
    }

    /**
     * {@code get_linear_schedule_with_warmup}.
     *
     * @param warmupSteps steps rising linearly from 0 to 1, {@code >= 0}
     * @param totalSteps steps of the whole run; the multiplier falls linearly to 0 there
     * @return the schedule
     */
    public static LrSchedule linearWithWarmup(int warmupSteps, int totalSteps) {
        return new LrSchedule(Type.LINEAR, warmupSteps, totalSteps);
    }

    /**
     * {@code get_cosine_schedule_with_warmup} with {@code num_cycles=0.5}.
     *
     * @param warmupSteps steps rising linearly from 0 to 1, {@code >= 0}
     * @param totalSteps steps of the whole run; the multiplier reaches 0 there
     * @return the schedule
     */
    public static LrSchedule cosineWithWarmup(int warmupSteps, int totalSteps) {
        return new LrSchedule(Type.COSINE, warmupSteps, totalSteps);
    }

    /**
     * The multiplier of the base learning rate after {@code step} scheduler steps (0-based), never negative.
     *
     * @param step scheduler steps taken so far, from 0
     * @return the multiplier, {@code >= 0}
     * @throws IllegalArgumentException when {@code step} is negative
     */
    public double multiplier(int step) {
        if (step < 0) { // the warm-up's line and the linear decay would give a negative learning rate
            throw new IllegalArgumentException("step must be >= 0 (scheduler steps taken so far), got " + step);
        }
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        double decaySteps = Math.max(1, totalSteps - warmupSteps);
        return switch (type) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (totalSteps - step) / decaySteps);
            case COSINE -> {
                double progress = (step - warmupSteps) / decaySteps; // as HF: pi * progress, not (pi * steps) / total
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            }
        };
    }
}
