package dev.finetune4j.peft.train;

import java.util.SplittableRandom;

/**
 * Every random stream of a run is derived from (seed, purpose, position), never carried along: a resumed run
 * draws exactly what an uninterrupted one would, with no opaque generator state in the checkpoint.
 */
final class Seeds {
    static final long SHUFFLE = 0x5348_5546L;
    static final long DROPOUT = 0x4452_4F50L;
    /** GRPO's sampling of completions. */
    static final long SAMPLING = 0x5341_4D50L;
    /** GRPO's sampling of the validation prompts' completions: a stream apart from training's. */
    static final long EVAL_SAMPLING = 0x4556_414CL;

    private Seeds() {
    }

    /** A 64-bit seed for {@code purpose} at the given position (epoch, step, micro-batch ...). */
    static long derive(long seed, long purpose, long... position) {
        long h = mix(seed ^ purpose);
        for (long p : position) {
            h = mix(h + 0x9E37_79B9_7F4A_7C15L + p);
        }
        return h;
    }

    /** The example order of {@code epoch}: a Fisher-Yates shuffle, or 0..n-1 when shuffling is off. */
    static int[] epochOrder(int n, boolean shuffle, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom random = new SplittableRandom(derive(seed, SHUFFLE, epoch));
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** Stafford's variant 13 of the MurmurHash3 finalizer (the mixer of SplittableRandom). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
