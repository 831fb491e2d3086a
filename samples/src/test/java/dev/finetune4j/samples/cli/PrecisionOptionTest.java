package dev.finetune4j.samples.cli;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrecisionOptionTest {

    @Test
    void autoIsBf16MixedOnAGpuAndF32OnTheCpu() {
        assertEquals(Precision.BF16_MIXED, PrecisionOption.parse("auto").on(Device.cuda(0)));
        assertEquals(Precision.F32, PrecisionOption.parse(null).on(Device.cpu()));
        assertEquals(Precision.F32, PrecisionOption.parse("F32").on(Device.cuda(0)));
        assertEquals(Precision.BF16_MIXED, PrecisionOption.parse("bf16-mixed").on(Device.cpu()));
        assertEquals("bf16-mixed", PrecisionOption.label(Precision.BF16_MIXED));
    }

    @Test
    void anUnknownNameListsTheChoices() {
        var e = assertThrows(IllegalArgumentException.class, () -> PrecisionOption.parse("bf16"));
        assertTrue(e.getMessage().contains("'bf16' is not one of f32, bf16-mixed, auto"), e.getMessage());
    }
}
