package dev.finetune4j.core.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything an optimizer needs to continue bit for bit, named as in {@code torch.optim} state dicts.
 * The constructor copies its arguments; treat the arrays of {@link #slots()} as read-only.
 *
 * @param steps          calls of {@code step()} so far
 * @param parameterSteps per parameter name, the updates it received (torch's {@code state[p]["step"]}; smaller
 *                       than {@code steps} only for a parameter that had no gradient at some step)
 * @param slots          per {@code <parameter>.<slot>} ({@code .exp_avg}, {@code .exp_avg_sq},
 *                       {@code .momentum_buffer}), the float32 values
 */
public record OptimizerState(long steps, Map<String, Long> parameterSteps, Map<String, float[]> slots) {
    /**
     * Checks that {@code steps} is not negative, that each parameter's count lies in [0, steps] (a step updates a
     * parameter at most once) and that no slot is null, and copies the maps and arrays.
     */
    public OptimizerState {
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        for (Map.Entry<String, Long> e : parameterSteps.entrySet()) {
            if (e.getValue() == null || e.getValue() < 0 || e.getValue() > steps) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' has " + e.getValue() + " updates, "
                        + "outside [0, " + steps + "] (a step updates a parameter at most once): the state is corrupt");
            }
        }
        parameterSteps = Map.copyOf(parameterSteps);
        Map<String, float[]> copy = new LinkedHashMap<>();
        slots.forEach((k, v) -> {
            if (v == null) {
                throw new IllegalArgumentException("slot '" + k + "' has no values (null): the state is corrupt");
            }
            copy.put(k, v.clone());
        });
        slots = Collections.unmodifiableMap(copy);
    }
}
