package dev.finetune4j.gguf;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * IQ4_NL and IQ4_XS blocks worked out by hand: rows that are a scale times the 16 levels, in order, which the scale
 * search recovers exactly (its trial step 0 maps the largest magnitude to -127), so the bytes can be written down and
 * the decoding (GgmlDecoder, which the reference tests use) gives the row back. KQuantsTest compares both with ggml.
 */
class IQuantsTest {
    /** Index bytes of a block whose value j is level j % 16: byte j holds index j and index j + 16 = j (mod 16). */
    private static final String LEVELS_IN_ORDER = "00112233445566778899aabbccddeeff";

    @Test
    void iq4NlStoresTheScaleAndTheLevelIndices() {
        float[] row = new float[64];
        for (int j = 0; j < 32; j++) {
            row[j] = 0.5f * IQuants.VALUES[j % 16];
            row[32 + j] = -0.25f * IQuants.VALUES[j % 16]; // a negative scale: the levels are not symmetric
        }
        // float16 0.5 = 0x3800 and -0.25 = 0xb400, little-endian
        String expected = "0038" + LEVELS_IN_ORDER + "00b4" + LEVELS_IN_ORDER;
        assertRoundTrip(GgmlType.IQ4_NL, row, expected, row);
    }

    @Test
    void iq4XsStoresSixBitBlockScalesOfTheSuperBlockScale() {
        // block scales s_b = -l_b / 32 of d = -max / 32 = -1/32; l_b + 32 is stored: 0, 63, 16, 40, 29, 32, 31, 25
        int[] l = {-32, 31, -16, 8, -3, 0, -1, -7};
        float[] row = new float[256];
        for (int b = 0; b < 8; b++) {
            for (int j = 0; j < 32; j++) {
                row[32 * b + j] = -l[b] / 32f * IQuants.VALUES[j % 16];
            }
        }
        // d = float16 -1/32 = 0xa800; high bits (l_b + 32) >> 4 at 2b: 0, 3, 1, 2, 1, 2, 1, 1 -> 0x599c; low nibbles
        // paired (even block low): 0 | 15, 0 | 8, 13 | 0, 15 | 9 -> f0 80 0d 9f; the zero block (5) takes the level
        // nearest 0, index 8 (level 1), for every value
        String expected = "00a8" + "9c59" + "f0800d9f" + LEVELS_IN_ORDER.repeat(5) + "88".repeat(16)
                + LEVELS_IN_ORDER.repeat(2);
        assertRoundTrip(GgmlType.IQ4_XS, row, expected, row);
    }

    @Test
    void levelsAreChosenByNearestWithTiesGoingUp() {
        assertEquals(0, IQuants.nearestLevel(-500f));
        assertEquals(15, IQuants.nearestLevel(500f));
        assertEquals(7, IQuants.nearestLevel(-4.6f), "-10 is 5.4 away, 1 is 5.6 away");
        assertEquals(8, IQuants.nearestLevel(-4.5f), "halfway between -10 and 1: the upper level");
        assertEquals(14, IQuants.nearestLevel(100f), "89 is 11 away, 113 is 13");
    }

    private static void assertRoundTrip(GgmlType type, float[] row, String expectedHex, float[] expectedValues) {
        ByteBuffer out = ByteBuffer.allocate((int) type.rowBytes(row.length)).order(ByteOrder.LITTLE_ENDIAN);
        type.encodeRow(row, out);
        assertEquals(expectedHex, HexFormat.of().formatHex(out.array()), type + ": blocks");
        float[] decoded = new float[row.length];
        GgmlDecoder.decode(type, out.flip(), decoded, 0, row.length);
        assertArrayEquals(expectedValues, decoded, 0f, type + ": decoded values");
    }
}
