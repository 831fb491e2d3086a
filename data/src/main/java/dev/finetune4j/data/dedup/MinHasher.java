package dev.finetune4j.data.dedup;

import dev.finetune4j.data.clean.Scripts;
import dev.finetune4j.data.clean.Tokens;

import java.io.Serializable;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * MinHash signatures of texts over their token n-gram shingles.
 *
 * <p>Each shingle is hashed to 64 bits (token hashes combined by a rolling polynomial, then mixed); permutation
 * {@code j} maps a shingle hash {@code x} to {@code (a_j * x + b_j) >>> 33} with {@code a_j} odd, i.e.
 * multiply-shift universal hashing (Dietzfelbinger et al. 1997), which needs no modulo. A signature holds the
 * 31-bit minimum per permutation. Thread-safe (immutable).
 */
public final class MinHasher implements Serializable {
    private static final long POLY = 0x9E3779B97F4A7C15L;
    /** Odd multipliers of the permutations. */
    private final long[] a;
    /** Addends of the permutations. */
    private final long[] b;

    /**
     * A hasher with {@code numPerm} permutations drawn from {@code seed}; equal arguments give equal signatures.
     *
     * @param numPerm signature length, at least 1
     * @param seed seed of the permutations
     */
    public MinHasher(int numPerm, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        a = new long[numPerm];
        b = new long[numPerm];
        for (int j = 0; j < numPerm; j++) {
            a[j] = rnd.nextLong() | 1;
            b[j] = rnd.nextLong();
        }
    }

    /**
     * Signature length.
     *
     * @return the number of permutations
     */
    public int numPerm() {
        return a.length;
    }

    /**
     * The signature of {@code text}; a text without tokens gets all {@link Integer#MAX_VALUE} (see {@link #isEmpty}).
     *
     * @param text the text to sign
     * @param n the shingle size in tokens
     * @return a new signature of {@link #numPerm()} values
     */
    public int[] signature(CharSequence text, int n) {
        long[] tokens = new long[Math.max(16, text.length() / 4)];
        int[] count = {0};
        long[][] holder = {tokens};
        Tokens.hashes(text, h -> {
            if (count[0] == holder[0].length) {
                holder[0] = Arrays.copyOf(holder[0], holder[0].length * 2);
            }
            holder[0][count[0]++] = h;
        });
        return signature(holder[0], count[0], n);
    }

    /**
     * The signature over the {@code n}-grams of token hashes {@code t[0..len)}.
     *
     * @param t token hashes; only the first {@code len} are read
     * @param len number of tokens
     * @param n the shingle size in tokens
     * @return a new signature of {@link #numPerm()} values
     */
    public int[] signature(long[] t, int len, int n) {
        int[] sig = new int[a.length];
        Arrays.fill(sig, Integer.MAX_VALUE);
        if (len == 0) {
            return sig;
        }
        int k = Math.min(n, len);
        long pow = 1;
        long s = 0;
        for (int j = 0; j < k; j++) {
            s = s * POLY + t[j];
            pow = j == 0 ? 1 : pow * POLY;
        }
        for (int i = 0; ; i++) {
            update(sig, Tokens.mix(s));
            if (i + k >= len) {
                break;
            }
            s = (s - t[i] * pow) * POLY + t[i + k];
        }
        return sig;
    }

    private void update(int[] sig, long x) {
        long[] aa = a;
        long[] bb = b;
        for (int j = 0; j < sig.length; j++) {
            int v = (int) ((aa[j] * x + bb[j]) >>> 33);
            sig[j] = Math.min(sig[j], v);
        }
    }

    /** The shingle size for {@code text} under {@code config}. */
    static int shingleSize(CharSequence text, NearDedupConfig config) {
        return switch (config.shingling()) {
            case WORDS -> config.wordN();
            case CHARS -> config.charN();
            case AUTO -> Scripts.cjkShare(text) >= 0.5 ? config.charN() : config.wordN();
        };
    }

    /**
     * Whether a signature came from a text without tokens.
     *
     * @param sig a signature
     * @return whether every value is {@link Integer#MAX_VALUE}
     */
    public static boolean isEmpty(int[] sig) {
        return sig.length > 0 && sig[0] == Integer.MAX_VALUE && Arrays.stream(sig).allMatch(v -> v == Integer.MAX_VALUE);
    }

    /**
     * The share of equal positions of two signatures: an unbiased estimate of the shingles' Jaccard similarity.
     *
     * @param x a signature
     * @param y a signature of the same length
     * @return the share in [0, 1]
     */
    public static double estimateJaccard(int[] x, int[] y) {
        int eq = 0;
        for (int i = 0; i < x.length; i++) {
            eq += x[i] == y[i] ? 1 : 0;
        }
        return (double) eq / x.length;
    }
}
