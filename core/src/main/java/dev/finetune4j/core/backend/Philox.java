package dev.finetune4j.core.backend;

/**
 * Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"), the counter-based
 * generator that cuRAND and PyTorch's CUDA kernels use: four 32-bit outputs are a pure function of a 128-bit
 * counter and a 64-bit key, so any element's random number can be computed on its own, on any device.
 *
 * <p>Here the key is the run's seed and the counter is (element index / 4, site, step): element i uses output
 * {@code i % 4} of that block. Every backend must produce exactly these numbers.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final int ROUNDS = 10;

    private Philox() {
    }

    /**
     * A uniform float in [0, 1) for element {@code index} under {@code key}: 24 random bits, exactly representable.
     *
     * @param key the mask's key
     * @param index the element's index
     * @return the uniform value
     */
    public static float uniform(DropoutKey key, long index) {
        return uniform(block(key, index >>> 2)[(int) (index & 3)]);
    }

    /**
     * The dropout factors of elements {@code [first, first + n)} under {@code key} into {@code dst[offset ..]}: 0 where
     * {@link #uniform(DropoutKey, long)} is below {@code p}, else {@code keepScale}. One Philox block per four
     * elements, as a run of elements shares them.
     *
     * @param key the mask's key
     * @param p the drop probability
     * @param keepScale the factor of a kept element
     * @param first the first element's index
     * @param dst receives the factors
     * @param offset where the first factor goes
     * @param n how many elements
     */
    public static void dropoutFactors(DropoutKey key, float p, float keepScale, long first, float[] dst, int offset,
                                      int n) {
        int[] bits = null;
        long blockIndex = -1;
        for (int e = 0; e < n; e++) {
            long index = first + e;
            if (index >>> 2 != blockIndex) {
                blockIndex = index >>> 2;
                bits = block(key, blockIndex);
            }
            dst[offset + e] = uniform(bits[(int) (index & 3)]) < p ? 0f : keepScale;
        }
    }

    /**
     * The uniform float in [0, 1) of one 32-bit output: its top 24 bits, so that it is exactly representable.
     *
     * @param output one output of {@link #block}
     * @return the uniform value
     */
    public static float uniform(int output) {
        return (output >>> 8) * 0x1.0p-24f;
    }

    /**
     * The four outputs of counter ({@code blockIndex}, site, step) under the seed.
     *
     * @param key the mask's key
     * @param blockIndex the block's index: elements {@code 4 * blockIndex} to {@code 4 * blockIndex + 3}
     * @return a new array of four outputs
     */
    public static int[] block(DropoutKey key, long blockIndex) {
        return rounds((int) blockIndex, (int) (blockIndex >>> 32), (int) key.site(), (int) key.step(),
                (int) key.seed(), (int) (key.seed() >>> 32));
    }

    /** The ten rounds over counter (c0, c1, c2, c3) and key (k0, k1). */
    static int[] rounds(int c0, int c1, int c2, int c3, int k0, int k1) {
        for (int r = 0; r < ROUNDS; r++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        return new int[]{c0, c1, c2, c3};
    }
}
