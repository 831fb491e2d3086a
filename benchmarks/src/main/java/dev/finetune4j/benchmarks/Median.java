package dev.finetune4j.benchmarks;

import java.util.Arrays;

/** The median the benchmarks report of their rounds. */
public final class Median {
    private Median() {
    }

    /**
     * The median of {@code values}: the middle one, or the mean of the two middle ones of an even count.
     *
     * @param values the rounds' measurements, at least one (not changed)
     * @return their median
     */
    public static double of(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
