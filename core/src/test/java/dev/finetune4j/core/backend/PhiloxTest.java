package dev.finetune4j.core.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Philox4x32-10 against the known-answer vectors published with Random123 (kat_vectors), counter c0..c3, key k0, k1. */
class PhiloxTest {

    @Test
    void knownAnswers() {
        assertArrayEquals(new int[]{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Philox.rounds(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[]{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Philox.rounds(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[]{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.rounds(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    /** The documented layout: key = seed, counter = (index / 4 as two words, site, step), element i uses output i % 4. */
    @Test
    void keyAndCounterLayout() {
        DropoutKey key = new DropoutKey(0x299f31d0a4093822L, 0x03707344, 0x13198a2e);
        assertArrayEquals(new int[]{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.block(key, 0x85a308d3243f6a88L));
        long block = 0x0000000512345678L;
        int[] expected = Philox.rounds(0x12345678, 5, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0);
        for (int j = 0; j < 4; j++) {
            assertEquals((expected[j] >>> 8) / 16777216f, Philox.uniform(key, block * 4 + j), 0f, "output " + j);
        }
    }

    @Test
    void uniformsSpanTheUnitInterval() {
        assertEquals(0f, Philox.uniform(0), 0f);
        assertEquals(1f - 0x1.0p-24f, Philox.uniform(-1), 0f, "the largest value stays below 1");
    }
}
