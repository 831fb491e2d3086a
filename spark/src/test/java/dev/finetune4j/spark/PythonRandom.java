package dev.finetune4j.spark;

/**
 * CPython's {@code random.Random} (MT19937, seeded from an int as {@code init_by_array}) with the methods
 * shared/bench/corpora.py uses, bit for bit, so that Java regenerates the Python corpora instead of committing
 * them. Not thread-safe.
 */
public final class PythonRandom {
    private static final int N = 624;
    private final int[] mt = new int[N];
    private int mti;

    /**
     * {@code random.Random(seed)} for a non-negative seed below 2^32.
     *
     * @param seed the seed
     */
    public PythonRandom(long seed) {
        if (seed < 0 || seed >= 1L << 32) {
            throw new IllegalArgumentException("seed must lie in [0, 2^32), found " + seed);
        }
        initByArray(new int[] {(int) seed});
    }

    private void initGenrand(int s) {
        mt[0] = s;
        for (int i = 1; i < N; i++) {
            mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        }
        mti = N;
    }

    private void initByArray(int[] key) {
        initGenrand(19650218);
        int i = 1;
        int j = 0;
        for (int k = Math.max(N, key.length); k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
            i++;
            j++;
            if (i >= N) {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if (j >= key.length) {
                j = 0;
            }
        }
        for (int k = N - 1; k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
            i++;
            if (i >= N) {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x80000000;
    }

    private int next32() {
        if (mti >= N) {
            for (int k = 0; k < N; k++) {
                int y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
                mt[k] = mt[(k + 397) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
            }
            mti = 0;
        }
        int y = mt[mti++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    /**
     * {@code random()}: a double in [0, 1) from 53 random bits.
     *
     * @return the next double
     */
    public double random() {
        long a = (next32() & 0xffffffffL) >>> 5;
        long b = (next32() & 0xffffffffL) >>> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    /**
     * {@code randrange(n)}: uniform in [0, n), by rejection on {@code n.bit_length()} random bits.
     *
     * @param n the bound, 1 to 2^31 - 1
     * @return the next value
     */
    public int below(int n) {
        int k = 32 - Integer.numberOfLeadingZeros(n);
        int r;
        do {
            r = (int) ((next32() & 0xffffffffL) >>> (32 - k));
        } while (r >= n);
        return r;
    }

    /**
     * {@code randint(a, b)}: uniform in [a, b].
     *
     * @param a the least value
     * @param b the largest value
     * @return the next value
     */
    public int randint(int a, int b) {
        return a + below(b - a + 1);
    }

    /**
     * {@code uniform(a, b)}.
     *
     * @param a one end
     * @param b the other end
     * @return {@code a + (b - a) * random()}
     */
    public double uniform(double a, double b) {
        return a + (b - a) * random();
    }

    /**
     * {@code shuffle(list)}: Fisher-Yates from the end.
     *
     * @param list the list to shuffle in place
     * @param <T>  the element type
     */
    public <T> void shuffle(java.util.List<T> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = below(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
