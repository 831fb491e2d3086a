package dev.finetune4j.eval.text;

import java.util.Arrays;

/**
 * The length of a longest common subsequence of two token sequences, computing 64 cells of the dynamic-programming
 * table per machine word (Crochemore, Iliopoulos, Pinzon and Reid, "A fast and practical bit-vector algorithm for
 * the longest common subsequence problem", Information Processing Letters 80(6), 2001). For each token {@code y}
 * of {@code b}, with {@code M} the bit set of the positions of {@code y} in {@code a}:
 * {@code V = (V + (V & M)) | (V & ~M)}; the LCS length is the number of zero bits of {@code V}.
 *
 * <p>Exact (the same length as the textbook table), memory linear in {@code |a|}, time {@code |a| * |b| / 64} at
 * worst, whatever the tokens (a text of one repeated character included); a token of {@code b} absent from
 * {@code a} costs nothing, and an update stops once its carry dies above the last position it touched. Stateless.
 */
public final class BitParallelLcs {
    private BitParallelLcs() {
    }

    /**
     * LCS length of {@code a} and {@code b}. Tokens are ids; a negative id matches nothing, not even itself (the
     * convention of {@link NgramMatcher#wordIds} for tokens absent from the other sequence).
     *
     * @param a the first token sequence
     * @param b the second token sequence
     * @return the length of their longest common subsequence
     */
    public static int length(int[] a, int[] b) {
        if (a.length == 0 || b.length == 0) {
            return 0;
        }
        int maxId = 0;
        for (int t : a) {
            maxId = Math.max(maxId, t);
        }
        // NOTE: negative ids are counted nowhere below, so no position of a is ever marked for them
        // positions of each token in a, grouped by token (compressed rows): at[from[t]] .. at[from[t + 1] - 1]
        int[] from = new int[maxId + 2];
        for (int t : a) {
            if (t >= 0) {
                from[t + 1]++;
            }
        }
        for (int t = 0; t <= maxId; t++) {
            from[t + 1] += from[t];
        }
        int[] at = new int[a.length];
        int[] fill = from.clone();
        for (int i = 0; i < a.length; i++) {
            if (a[i] >= 0) {
                at[fill[a[i]]++] = i;
            }
        }
        int words = (a.length + 63) >>> 6;
        long topMask = (a.length & 63) == 0 ? -1L : (1L << (a.length & 63)) - 1;
        long[] v = new long[words];
        Arrays.fill(v, -1L);
        v[words - 1] = topMask;
        // NOTE: a token with more positions than there are words gets its mask built once (at most 64 such tokens,
        // so at most 8 bytes per position of a); setting and clearing its bits at every step would cost more than the
        // word loop itself (100,000 copies of one character took 50 s)
        long[][] dense = new long[maxId + 1][];
        for (int t = 0; t <= maxId; t++) {
            if (from[t + 1] - from[t] > words) {
                dense[t] = new long[words];
                for (int k = from[t]; k < from[t + 1]; k++) {
                    dense[t][at[k] >>> 6] |= 1L << at[k];
                }
            }
        }
        long[] scratch = new long[words];
        for (int y : b) {
            if (y < 0 || y > maxId || from[y] == from[y + 1]) {
                continue; // no match: V + 0 | V & ~0 = V
            }
            int lo = from[y];
            int hi = from[y + 1];
            long[] mask = dense[y];
            if (mask == null) {
                mask = scratch;
                for (int k = lo; k < hi; k++) {
                    mask[at[k] >>> 6] |= 1L << at[k];
                }
            }
            int lastTouched = at[hi - 1] >>> 6;
            long carry = 0;
            for (int w = at[lo] >>> 6; w < words; w++) {
                long old = v[w];
                long m = mask[w];
                long sum = old + (old & m);
                long carryOut = Long.compareUnsigned(sum, old) < 0 ? 1 : 0;
                long withCarry = sum + carry;
                if (carry == 1 && withCarry == 0) {
                    carryOut = 1;
                }
                v[w] = withCarry | (old & ~m);
                carry = carryOut;
                if (carry == 0 && w >= lastTouched) {
                    break;
                }
            }
            v[words - 1] &= topMask;
            if (mask == scratch) {
                for (int k = lo; k < hi; k++) {
                    scratch[at[k] >>> 6] = 0;
                }
            }
        }
        int ones = 0;
        for (long w : v) {
            ones += Long.bitCount(w);
        }
        return a.length - ones;
    }
}
