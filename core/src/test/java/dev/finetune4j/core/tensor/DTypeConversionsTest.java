package dev.finetune4j.core.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 and f16 rounding on hand-picked bit patterns. Expected values are derived by hand from IEEE 754
 * round-to-nearest-even: keep the upper bits, round up when the dropped bits exceed half an ulp, and on an exact
 * tie round to the neighbour whose last kept bit is 0.
 */
class DTypeConversionsTest {

    private static short bf16(int floatBits) {
        return DTypeConversions.floatToBf16(Float.intBitsToFloat(floatBits));
    }

    private static void assertBits(int expected, short actual, String what) {
        assertEquals(expected & 0xFFFF, actual & 0xFFFF, what + String.format(": got 0x%04X, expected 0x%04X", actual & 0xFFFF, expected & 0xFFFF));
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertBits(0x3F80, bf16(0x3F800000), "1.0 exact");
        assertBits(0x3F80, bf16(0x3F807FFF), "below half: down");
        assertBits(0x3F81, bf16(0x3F808001), "above half: up");
        assertBits(0x3F80, bf16(0x3F808000), "tie, kept bit even: down");
        assertBits(0x3F82, bf16(0x3F818000), "tie, kept bit odd: up to even");
        assertBits(0xBF82, bf16(0xBF818000), "negative tie: magnitude rounds the same way");
        assertBits(0x4000, bf16(0x3FFFFFFF), "carry into the exponent");
        assertBits(0x8000, bf16(0x80000000), "-0 keeps its sign");
    }

    @Test
    void bf16SubnormalsInfinitiesAndNaN() {
        assertBits(0x0000, bf16(0x00008000), "subnormal tie to even 0");
        assertBits(0x0002, bf16(0x00018000), "subnormal tie to even 2");
        assertBits(0x0001, bf16(0x00017FFF), "subnormal below half");
        assertBits(0x0080, bf16(0x007FFFFF), "largest float subnormal rounds up to the smallest normal");
        assertBits(0x7F80, bf16(0x7F800000), "+inf");
        assertBits(0xFF80, bf16(0xFF800000), "-inf");
        assertBits(0x7F7F, bf16(0x7F7F7FFF), "just below the overflow threshold");
        assertBits(0x7F80, bf16(0x7F7FFFFF), "Float.MAX_VALUE is past bf16 max + half ulp: +inf");
        assertBits(0x7FC0, bf16(0x7FC00000), "quiet NaN");
        assertBits(0x7FC0, bf16(0x7F800001), "NaN with payload only in dropped bits stays NaN, not inf");
        assertBits(0xFFC0, bf16(0xFFC00000), "negative NaN");
        assertEquals(1.0078125f, DTypeConversions.bf16ToFloat((short) 0x3F81), "bf16 -> float is exact");
        assertTrue(Float.isNaN(DTypeConversions.bf16ToFloat((short) 0x7FC0)));
    }

    private static short f16(float v) {
        return DTypeConversions.floatToF16(v);
    }

    @Test
    void f16RoundsToNearestEven() {
        float ulp1 = 0x1p-10f; // f16 ulp at 1.0
        assertBits(0x3C00, f16(1f), "1.0");
        assertBits(0x3C00, f16(1f + ulp1 / 2), "tie, even: down");
        assertBits(0x3C02, f16(1f + 3 * ulp1 / 2), "tie, odd: up to even");
        assertBits(0x3C01, f16(Math.nextUp(1f + ulp1 / 2)), "just above half: up");
        assertBits(0x7BFF, f16(65504f), "f16 max");
        assertBits(0x7BFF, f16(65519.996f), "below the overflow tie");
        assertBits(0x7C00, f16(65520f), "overflow tie rounds to even: inf");
        assertBits(0xFC00, f16(Float.NEGATIVE_INFINITY), "-inf");
    }

    @Test
    void f16Subnormals() {
        assertBits(0x0001, f16(0x1p-24f), "smallest subnormal");
        assertBits(0x0000, f16(0x1p-25f), "tie between 0 and the smallest subnormal: 0");
        assertBits(0x0002, f16(0x1.8p-24f), "tie between 1 and 2 subnormal ulps: 2");
        assertBits(0x0001, f16(Math.nextUp(0x1p-25f)), "just above half the smallest subnormal");
        assertBits(0x0400, f16(Math.nextDown(0x1p-14f)), "largest float below the smallest f16 normal rounds up to it");
        assertBits(0x8000, f16(-0x1p-26f), "underflow keeps the sign");
        assertEquals(0x1p-24f, DTypeConversions.f16ToFloat((short) 0x0001));
        assertEquals(65504f, DTypeConversions.f16ToFloat((short) 0x7BFF));
        assertTrue(Float.isNaN(DTypeConversions.f16ToFloat(f16(Float.NaN))));
    }

    @Test
    void safetensorsNames() {
        assertEquals(DType.BF16, DType.fromSafetensors("bf16"));
        // NF4 holds its scales: mean 4 + one group scale 4 + one block code 1 + four bytes of 4-bit codes
        assertEquals(13, DType.NF4.bytesFor(7));
        assertEquals(0, DType.NF4.bytesFor(0));
        assertEquals(16, DType.I64.bytesFor(2));
        assertThrows(IllegalArgumentException.class, () -> DType.fromSafetensors("F8_E4M3"));
        assertThrows(IllegalArgumentException.class, () -> DType.fromSafetensors("NF4"));
    }
}
