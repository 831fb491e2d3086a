package dev.finetune4j.peft.mix;

import java.util.Arrays;
import java.util.Locale;

/**
 * How TIES elects the sign of each entry across adapters (PEFT's {@code majority_sign_method}): the sign of the
 * sum of the (pruned, unweighted) values, or the sign held by more adapters. Zero elects plus in both.
 */
public enum MajoritySign {
    /** The sign of the sum of the values ({@code "total"}, PEFT's default). */
    TOTAL,
    /** The sign most adapters have, zeros not voting ({@code "frequency"}). */
    FREQUENCY;

    /**
     * PEFT's name.
     *
     * @return {@code "total"} or {@code "frequency"}
     */
    public String pythonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The method of PEFT's name.
     *
     * @param name {@code "total"} or {@code "frequency"}
     * @return the method
     * @throws IllegalArgumentException for another name, listing both
     */
    public static MajoritySign of(String name) {
        return Arrays.stream(values()).filter(m -> m.pythonName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown majority sign method '" + name
                        + "': expected total or frequency"));
    }
}
