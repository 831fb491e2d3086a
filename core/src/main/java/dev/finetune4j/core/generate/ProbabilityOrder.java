package dev.finetune4j.core.generate;

/**
 * Token ids in descending order of probability, the lower id first on ties: the order a stable sort of all ids by
 * descending probability gives, built lazily. The ids are first grouped by the binary exponent of their
 * probability (one counting pass; a band holds values that every earlier band exceeds), and a band is sorted only
 * when a caller reaches it. A sampler stops once its nucleus holds top-p of the mass or top-k tokens, which is
 * usually within the first few bands, so it sorts a few hundred ids of a 150,000-word vocabulary instead of all.
 *
 * <p>Not thread-safe: one per sampled row.
 */
final class ProbabilityOrder {
    /** Bands: 0 for 1 and above (and NaN, which {@link Double#compare} puts above all), then one per exponent. */
    private static final int BANDS = 1025;

    private final double[] p;
    /** The ids, band after band; within a band ascending until the band is sorted. */
    private final int[] ids;
    /** ids[bandStart[b], bandStart[b + 1]) is band b. */
    private final int[] bandStart = new int[BANDS + 1];
    private int nextBand;
    /** ids[0, sorted) are in their final order. */
    private int sorted;
    private int[] scratch = new int[0];

    /** @param p the probabilities, one per id (not copied; unchanged while this order is read) */
    ProbabilityOrder(double[] p) {
        this.p = p;
        this.ids = new int[p.length];
        for (double x : p) {
            bandStart[band(x) + 1]++;
        }
        for (int b = 0; b < BANDS; b++) {
            bandStart[b + 1] += bandStart[b];
        }
        int[] next = bandStart.clone();
        for (int i = 0; i < p.length; i++) {
            ids[next[band(p[i])]++] = i;
        }
    }

    /**
     * The id at {@code rank} of the order (0: the most probable).
     *
     * @param rank a rank in [0, the number of ids)
     * @return its id
     */
    int id(int rank) {
        while (rank >= sorted) {
            sortNextBand();
        }
        return ids[rank];
    }

    /** Larger probabilities get smaller bands: 0 for p >= 1 or NaN, else minus the exponent, 1023 for 0. */
    private static int band(double x) {
        int exponent = Math.getExponent(x);
        return exponent >= 0 ? 0 : Math.min(-exponent, BANDS - 1);
    }

    private void sortNextBand() {
        int from = bandStart[nextBand];
        int to = bandStart[++nextBand];
        if (to - from > 1) {
            if (scratch.length < to - from) {
                scratch = new int[to - from];
            }
            mergeSort(from, to);
        }
        sorted = to;
    }

    /** Stable merge sort of ids[from, to) by descending probability, so that ties keep the ascending ids. */
    private void mergeSort(int from, int to) {
        if (to - from < 2) {
            return;
        }
        int mid = (from + to) >>> 1;
        mergeSort(from, mid);
        mergeSort(mid, to);
        if (Double.compare(p[ids[mid - 1]], p[ids[mid]]) >= 0) {
            return; // already in order
        }
        System.arraycopy(ids, from, scratch, 0, mid - from);
        int left = 0;
        int leftEnd = mid - from;
        int right = mid;
        int out = from;
        while (left < leftEnd && right < to) {
            // the right one goes first only when strictly more probable: equal ones keep their order
            ids[out++] = Double.compare(p[ids[right]], p[scratch[left]]) > 0 ? ids[right++] : scratch[left++];
        }
        while (left < leftEnd) {
            ids[out++] = scratch[left++];
        }
    }
}
