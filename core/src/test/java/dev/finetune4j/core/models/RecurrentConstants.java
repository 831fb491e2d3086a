package dev.finetune4j.core.models;

import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.StateDicts;

import java.util.SplittableRandom;

/**
 * The recurrent layers' filters and their biases, decays, time-step biases and skips of a random test model, which
 * {@link StateDicts#initNormal} leaves at zero (a zero filter keeps a layer's inputs to its state at zero) and
 * transformers' initial decays would make forget within a token: drawn uniformly in a range that keeps the state
 * alive over the test's tokens.
 */
public final class RecurrentConstants {
    private RecurrentConstants() {
    }

    /**
     * Draws every {@code conv1d} weight and bias (LFM2's {@code conv.conv}), {@code A_log}, {@code dt_bias} and
     * {@code D} of {@code model}
     * uniformly in (-bound, bound), in state-dict order.
     *
     * @param model the model, its matrices already drawn
     * @param random the draws
     * @param bound the range's half width
     */
    public static void drawUniform(Module model, SplittableRandom random, double bound) {
        for (var e : model.stateDict().entrySet()) {
            String name = e.getKey();
            if (name.contains("conv1d.") || name.contains("conv.conv.") || name.endsWith("A_log") || name.endsWith("dt_bias") || name.endsWith(".D")) {
                StateDicts.fill(e.getValue(), () -> random.nextDouble(-bound, bound));
            }
        }
    }
}
