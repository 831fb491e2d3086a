package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.AttentionMask;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The index arithmetic of the CPU attention at sizes whose (B, H, T, S) score count passes 2^31, where a
 * probability array of that size overflowed its int length (issue 12: NegativeArraySizeException at 24,000
 * tokens, ArrayIndexOutOfBounds at 64 x 8192). Running such a size takes a billion scores, too slow for a unit
 * test, so this checks what the kernel allocates and indexes instead: one block of scores at a time, offsets
 * taken in long.
 */
class AttentionBlocksTest {

    @Test
    void scoreBlocksStaySmallAtLongSequences() {
        CpuAttention.Dims causal = CpuAttention.Dims.of(1, 32, 8, 24_000, 24_000, 128, true);
        assertEquals(32, causal.block());
        assertEquals(24_000, causal.visibleKeys(AttentionMask.causalOnly(), 24_000));
        assertEquals(32, causal.visibleKeys(AttentionMask.causalOnly(), 32), "the first block sees only its own keys");
        CpuAttention.Dims bidirectional = CpuAttention.Dims.of(64, 4, 4, 100_000, 100_000, 8, false);
        assertTrue((long) bidirectional.block() * bidirectional.keys() <= 32L * 100_000,
                "a bidirectional block of " + bidirectional.block() + " queries");
        CpuAttention.Dims shortBidirectional = CpuAttention.Dims.of(8, 12, 12, 512, 512, 64, false);
        assertEquals(512, shortBidirectional.block(), "short sequences stay one block");
    }

    @Test
    void offsetsAreExactUpToTheLargestArrayAndFailLoudlyBeyond() {
        // 64 x 8192 tokens, 4 heads of 64: q holds 134,217,728 values; the old (B, H, T, S) array size wrapped to 0
        CpuAttention.Dims dims = CpuAttention.Dims.of(64, 4, 2, 8192, 8192, 64, true);
        assertEquals(((63L * 4 + 3) * 8192 + 8191) * 64, dims.queryOffset(63 * 4 + 3, 8191));
        assertEquals((63L * 2 + 1) * 8192 * 64, dims.kvOffset(63, 1));
        CpuAttention.Dims tooBig = CpuAttention.Dims.of(1, 1, 1, 3_000_000, 3_000_000, 1024, true);
        assertThrows(ArithmeticException.class, () -> tooBig.queryOffset(0, 2_999_999),
                "an offset past any Java array is an error, not a negative index");
    }
}
