package dev.finetune4j.peft.mix;

import dev.finetune4j.peft.AdapterFiles;

import java.util.Objects;

/**
 * One adapter to mix and its weight. Weights may be negative (subtracting what an adapter learned) and need not
 * sum to 1; each adapter's own scaling (alpha / r, or alpha / sqrt(r) with rsLoRA) is applied on top.
 *
 * @param adapter the adapter folder, read ({@link AdapterFiles#read}); the caller closes it after mixing
 * @param weight  the adapter's weight, finite
 */
public record WeightedAdapter(AdapterFiles adapter, double weight) {
    /** Checks that the adapter is given and the weight is a finite number. */
    public WeightedAdapter {
        Objects.requireNonNull(adapter, "adapter");
        if (!Double.isFinite(weight)) {
            throw new IllegalArgumentException("the weight of adapter " + adapter.dir() + " is " + weight
                    + ": weights must be finite numbers (negative ones subtract an adapter)");
        }
    }
}
