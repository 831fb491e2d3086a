package dev.finetune4j.eval.text;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class BitParallelLcsTest {
    /** The textbook table, two rows at a time: the oracle. */
    private static int tableLcs(int[] a, int[] b) {
        int[] prev = new int[b.length + 1];
        int[] cur = new int[b.length + 1];
        for (int i = 1; i <= a.length; i++) {
            for (int j = 1; j <= b.length; j++) {
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length];
    }

    @Test
    void handComputed() {
        // "ABCBDAB" vs "BDCABA": LCS 4 (e.g. BCBA), the textbook example
        assertEquals(4, BitParallelLcs.length(new int[] {0, 1, 2, 1, 3, 0, 1}, new int[] {1, 3, 2, 0, 1, 0}));
        assertEquals(0, BitParallelLcs.length(new int[] {}, new int[] {1}));
        assertEquals(0, BitParallelLcs.length(new int[] {1, 2}, new int[] {3, 4}));
        assertEquals(1, BitParallelLcs.length(new int[] {-1, 2, -1}, new int[] {-1, 2, -1}),
                "negative ids never match");
    }

    @Test
    void equalsTheTableAcrossWordBoundariesAndAlphabets() {
        SplittableRandom rnd = new SplittableRandom(11);
        int[] sizes = {1, 2, 63, 64, 65, 127, 128, 129, 300, 1000};
        int[] alphabets = {1, 2, 4, 30, 2000};
        for (int m : sizes) {
            for (int n : sizes) {
                for (int alphabet : alphabets) {
                    int[] a = rnd.ints(m, 0, alphabet).toArray();
                    int[] b = rnd.ints(n, 0, alphabet).toArray();
                    assertEquals(tableLcs(a, b), BitParallelLcs.length(a, b), m + " x " + n + " over " + alphabet);
                }
            }
        }
    }

    @Test
    void longTextsTakeWordParallelTime() {
        // 200,000 tokens each: 4e10 table cells, minutes for the table; a few hundred million word steps here
        SplittableRandom rnd = new SplittableRandom(3);
        int[] a = rnd.ints(200_000, 0, 5000).toArray();
        int[] b = rnd.ints(200_000, 0, 5000).toArray();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> BitParallelLcs.length(a, b));
        // one token repeated: every step touches every word, but no step may cost more than a pass over them
        int[] same = new int[100_000];
        assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> assertEquals(100_000, BitParallelLcs.length(same, same)));
    }
}
