package dev.finetune4j.data.dedup;

import dev.finetune4j.data.clean.Tokens;

/**
 * MinHash LSH banding: a signature is cut into {@code bands} bands of {@code rows} values, and two records are
 * candidates when all values of at least one band agree, i.e. when they share that band's key.
 */
final class LshIndex {
    private LshIndex() {
    }

    /** The 64-bit key of each band of a signature; pure, so it may run on any thread or machine. */
    static long[] bandHashes(int[] sig, int bands, int rows) {
        long[] out = new long[bands];
        for (int band = 0; band < bands; band++) {
            long h = band * 0x9E3779B97F4A7C15L;
            for (int j = band * rows; j < (band + 1) * rows; j++) {
                h = (h ^ sig[j]) * 0x100000001b3L;
            }
            out[band] = Tokens.mix(h);
        }
        return out;
    }
}
