package dev.finetune4j.core.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multipliers worked out from transformers' {@code get_*_schedule_with_warmup} lambdas. */
class LrScheduleTest {

    @Test
    void linearRisesThenFallsToZero() {
        LrSchedule s = LrSchedule.linearWithWarmup(10, 110);
        assertEquals(0.0, s.multiplier(0));            // 0 / 10
        assertEquals(0.5, s.multiplier(5));            // 5 / 10
        assertEquals(1.0, s.multiplier(10));           // (110 - 10) / 100
        assertEquals(0.5, s.multiplier(60));           // (110 - 60) / 100
        assertEquals(0.01, s.multiplier(109));         // 1 / 100
        assertEquals(0.0, s.multiplier(110));
        assertEquals(0.0, s.multiplier(150), "clamped at 0 past the end");
    }

    @Test
    void cosineFollowsHalfAWave() {
        LrSchedule s = LrSchedule.cosineWithWarmup(10, 110);
        assertEquals(0.3, s.multiplier(3));                                  // 3 / 10
        assertEquals(1.0, s.multiplier(10));                                 // 0.5 * (1 + cos 0)
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.25)), s.multiplier(35)); // progress 25 / 100
        assertEquals(0.8535533905932737, s.multiplier(35), 1e-15);
        assertEquals(0.5, s.multiplier(60), 1e-15);                          // progress 0.5
        assertEquals(0.0, s.multiplier(110), 1e-15);                         // cos pi = -1
        // NOTE: past the end the wave rises again, as in transformers (progress 1.9 -> 0.5 * (1 + cos 1.9 pi))
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 1.9)), s.multiplier(200));
    }

    @Test
    void constantSchedules() {
        assertEquals(1.0, LrSchedule.constant().multiplier(0));
        assertEquals(1.0, LrSchedule.constant().multiplier(12345));
        assertEquals(0.25, LrSchedule.constantWithWarmup(4).multiplier(1));
        assertEquals(1.0, LrSchedule.constantWithWarmup(4).multiplier(4));
        assertEquals(1.0, LrSchedule.constantWithWarmup(4).multiplier(1000));
    }

    @Test
    void noWarmupStartsAtTheFullRate() {
        assertEquals(1.0, LrSchedule.linearWithWarmup(0, 100).multiplier(0));
        assertEquals(0.99, LrSchedule.linearWithWarmup(0, 100).multiplier(1));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linearWithWarmup(-1, 100));
    }

    @Test
    void aNegativeStepIsRefusedRatherThanGivingANegativeRate() {
        // the warm-up line would give -1 / 10 and the linear decay (110 - -1) / 100 > 1; "never negative" must hold
        for (LrSchedule s : new LrSchedule[]{LrSchedule.linearWithWarmup(10, 110), LrSchedule.cosineWithWarmup(0, 10)}) {
            var e = assertThrows(IllegalArgumentException.class, () -> s.multiplier(-1));
            assertTrue(e.getMessage().contains("step must be >= 0") && e.getMessage().contains("-1"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> new LrSchedule(LrSchedule.Type.LINEAR, 5, -3));
        assertTrue(e.getMessage().contains("totalSteps=-3"), e.getMessage());
    }
}
