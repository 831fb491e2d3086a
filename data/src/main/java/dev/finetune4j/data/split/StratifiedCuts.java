package dev.finetune4j.data.split;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Exact stratification without holding records: the positions of all records are collected per label (8 bytes
 * each), then each label's positions are cut at the ratio quantiles, so every label is split in the same
 * proportions and the result still does not depend on input order. Not thread-safe.
 */
public final class StratifiedCuts {
    private final double[] cumulative;
    private final Map<String, double[]> positions = new HashMap<>();
    private final Map<String, Integer> sizes = new HashMap<>();
    private Map<String, double[]> cuts;

    /**
     * Cuts for the outputs of {@code spec}.
     *
     * @param spec a split with a stratify field
     */
    public StratifiedCuts(SplitSpec spec) {
        this.cumulative = spec.cumulative();
    }

    /**
     * Records one record's label and position (first pass).
     *
     * @param label the record's label
     * @param position the record's position from {@link SplitKeys#position}
     */
    public void add(String label, double position) {
        int n = sizes.getOrDefault(label, 0);
        double[] p = positions.computeIfAbsent(label, k -> new double[16]);
        if (n == p.length) {
            p = Arrays.copyOf(p, n * 2);
            positions.put(label, p);
        }
        p[n] = position;
        sizes.put(label, n + 1);
    }

    /**
     * The output index of a record (second pass, after all {@link #add} calls).
     *
     * @param label the record's label
     * @param position the record's position from {@link SplitKeys#position}
     * @return the output index
     */
    public int bucket(String label, double position) {
        if (cuts == null) {
            cuts = new HashMap<>();
            positions.forEach((l, p) -> cuts.put(l, cutsOf(Arrays.copyOf(p, sizes.get(l)))));
            positions.clear();
        }
        double[] c = cuts.get(label);
        if (c == null) {
            throw new IllegalStateException("label '" + label + "' was not seen in the first pass");
        }
        return SplitKeys.bucket(position, c);
    }

    private double[] cutsOf(double[] p) {
        Arrays.sort(p);
        long[] ranks = cutRanks(cumulative, p.length);
        double[] c = new double[cumulative.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = ranks[i] >= p.length ? Double.POSITIVE_INFINITY : p[(int) ranks[i]];
        }
        return c;
    }

    /**
     * Where a label's outputs are cut: output {@code i} ends before the position of 0-based rank {@code ranks[i]}
     * among the label's positions sorted ascending (a rank of {@code n} or more means no cut: the end).
     *
     * @param cumulative cumulative output shares, the last one 1
     * @param n          how many records have the label
     * @return one rank per output; the last is always {@code n}
     */
    public static long[] cutRanks(double[] cumulative, long n) {
        long[] ranks = new long[cumulative.length];
        for (int i = 0; i < ranks.length - 1; i++) {
            ranks[i] = Math.round(cumulative[i] * n);
        }
        ranks[ranks.length - 1] = n;
        return ranks;
    }
}
