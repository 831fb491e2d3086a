package dev.finetune4j.peft.train;

import dev.finetune4j.core.optim.LrSchedule;

/**
 * How the learning rate moves over the optimizer steps, after an optional linear warm-up from 0 (as Hugging
 * Face's {@code get_constant_schedule_with_warmup}, {@code get_linear_schedule_with_warmup} and
 * {@code get_cosine_schedule_with_warmup}).
 */
public enum Schedule {
    /** The peak learning rate throughout. */
    CONSTANT,
    /** Linear decay from the peak to 0 at the last step. */
    LINEAR,
    /** Half a cosine wave from the peak to 0 at the last step. */
    COSINE;

    /** The matching {@code core.optim} schedule shape. */
    LrSchedule.Type type() {
        return switch (this) {
            case CONSTANT -> LrSchedule.Type.CONSTANT;
            case LINEAR -> LrSchedule.Type.LINEAR;
            case COSINE -> LrSchedule.Type.COSINE;
        };
    }
}
