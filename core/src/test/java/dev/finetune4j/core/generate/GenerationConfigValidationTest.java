package dev.finetune4j.core.generate;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NaN and infinity fail the "< 0" checks silently; the config must refuse them by name. */
class GenerationConfigValidationTest {

    @Test
    void nanOrInfiniteTemperatureAndPenaltyAreRefused() {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
                    () -> GenerationConfig.builder().temperature(bad).build());
            assertTrue(t.getMessage().contains("temperature"), t.getMessage());
            IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
                    () -> GenerationConfig.builder().repetitionPenalty(bad).build());
            assertTrue(p.getMessage().contains("repetitionPenalty"), p.getMessage());
        }
    }
}
