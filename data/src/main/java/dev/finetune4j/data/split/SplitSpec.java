package dev.finetune4j.data.split;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How to split records: by ratio into train/validation/test, or into {@code folds} folds for k-fold
 * cross-validation. Assignment hashes a stable key with the seed, so a record's split never depends on input
 * order. Create with {@link #ratio} or {@link #kFold}, then refine with the wither methods.
 *
 * @param train               share of train (ratio mode)
 * @param validation          share of validation (ratio mode)
 * @param test                share of test (ratio mode)
 * @param folds               number of folds, or 0 for ratio mode
 * @param seed                seed of the assignment hash
 * @param keyField            field whose value identifies a record, or {@code null} for its whole text
 * @param stratifyField       label field to stratify by (each label split in the same proportions), or {@code null}
 * @param groupField          field whose equal values must land in the same split (e.g. a user id), or {@code null}
 * @param groupNearDuplicates keep records that near-dedup tagged as one cluster in the same split
 */
public record SplitSpec(double train, double validation, double test, int folds, long seed, String keyField,
                        String stratifyField, String groupField, boolean groupNearDuplicates)
        implements Serializable {

    /** The most folds of a k-fold split: each is an output file held open while the pipeline runs. */
    public static final int MAX_FOLDS = 100;

    /** Checks that ratios are non-negative and sum to 1, or that the folds number 2 to {@link #MAX_FOLDS}. */
    public SplitSpec {
        if (folds == 0) {
            if (!(train >= 0 && validation >= 0 && test >= 0)) { // NOTE: written so that NaN fails too
                throw new IllegalArgumentException("split ratios must be >= 0, found train=" + train
                        + " validation=" + validation + " test=" + test);
            }
            if (Math.abs(train + validation + test - 1.0) > 1e-6) {
                throw new IllegalArgumentException("split ratios must sum to 1, found " + (train + validation + test)
                        + " (train=" + train + " validation=" + validation + " test=" + test + ")");
            }
        } else if (folds < 2 || folds > MAX_FOLDS) {
            throw new IllegalArgumentException("k-fold needs 2 to " + MAX_FOLDS + " folds (one open output file"
                    + " each), found " + folds);
        }
    }

    /**
     * Train/validation/test by ratio, e.g. {@code ratio(0.8, 0.1, 0.1)}; seed 0 until {@link #seed} is called.
     *
     * @param train share of train, {@code >= 0}
     * @param validation share of validation, {@code >= 0}
     * @param test share of test, {@code >= 0}; the three sum to 1
     * @return the split
     */
    public static SplitSpec ratio(double train, double validation, double test) {
        return new SplitSpec(train, validation, test, 0, 0, null, null, null, true);
    }

    /**
     * The default 80/10/10 split.
     *
     * @return {@code ratio(0.8, 0.1, 0.1)}
     */
    public static SplitSpec defaults() {
        return ratio(0.8, 0.1, 0.1);
    }

    /**
     * {@code k} folds of about equal size.
     *
     * @param k the number of folds, 2 to {@link #MAX_FOLDS}
     * @return the split
     */
    public static SplitSpec kFold(int k) {
        if (k == 0) {
            throw new IllegalArgumentException("k-fold needs 2 to " + MAX_FOLDS + " folds, found 0");
        }
        return new SplitSpec(0, 0, 0, k, 0, null, null, null, true);
    }

    /**
     * This split with another seed.
     *
     * @param newSeed the seed of the assignment hash
     * @return a new split
     */
    public SplitSpec seed(long newSeed) {
        return new SplitSpec(train, validation, test, folds, newSeed, keyField, stratifyField, groupField,
                groupNearDuplicates);
    }

    /**
     * This split keyed by a field instead of the whole text.
     *
     * @param field the field whose value identifies a record
     * @return a new split
     */
    public SplitSpec keyField(String field) {
        return new SplitSpec(train, validation, test, folds, seed, field, stratifyField, groupField,
                groupNearDuplicates);
    }

    /**
     * This split stratified by a label.
     *
     * @param labelField the label's field
     * @return a new split
     */
    public SplitSpec stratifyBy(String labelField) {
        return new SplitSpec(train, validation, test, folds, seed, keyField, labelField, groupField,
                groupNearDuplicates);
    }

    /**
     * This split with groups kept together.
     *
     * @param field the field whose equal values land in the same split
     * @return a new split
     */
    public SplitSpec groupBy(String field) {
        return new SplitSpec(train, validation, test, folds, seed, keyField, stratifyField, field,
                groupNearDuplicates);
    }

    /**
     * This split with near-duplicate clusters kept together, or not.
     *
     * @param on true to keep clusters tagged by near-dedup in one split (the default)
     * @return a new split
     */
    public SplitSpec groupNearDuplicates(boolean on) {
        return new SplitSpec(train, validation, test, folds, seed, keyField, stratifyField, groupField, on);
    }

    /**
     * The output names, in order: {@code train, validation, test} or {@code fold-0 ... fold-(k-1)}.
     *
     * @return the names of the output files without extension
     */
    public List<String> names() {
        if (folds == 0) {
            return List.of("train", "validation", "test");
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < folds; i++) {
            names.add("fold-" + i);
        }
        return names;
    }

    /** Cumulative upper bounds of each output's share of [0, 1). */
    double[] cumulative() {
        List<String> names = names();
        double[] c = new double[names.size()];
        double acc = 0;
        for (int i = 0; i < c.length; i++) {
            acc += folds == 0 ? new double[] {train, validation, test}[i] : 1.0 / folds;
            c[i] = acc;
        }
        c[c.length - 1] = 1.0;
        return c;
    }

    /**
     * Warnings for ratios outside the usual 70-80 / 10-15 / 10-15 ranges.
     *
     * @return one message per unusual ratio, empty in k-fold mode or when all are usual
     */
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        if (folds == 0) {
            check(w, "train", train, 0.70, 0.80);
            check(w, "validation", validation, 0.10, 0.15);
            check(w, "test", test, 0.10, 0.15);
        }
        return w;
    }

    private static void check(List<String> w, String name, double v, double lo, double hi) {
        if (v < lo - 1e-9 || v > hi + 1e-9) {
            w.add(name + " share " + v + " is outside the usual range " + lo + "-" + hi);
        }
    }

    /**
     * The parameters for the provenance manifest.
     *
     * @return parameter names to values
     */
    public Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        if (folds == 0) {
            p.put("train", train);
            p.put("validation", validation);
            p.put("test", test);
        } else {
            p.put("folds", folds);
        }
        p.put("seed", seed);
        p.put("key", keyField == null ? "<text>" : keyField);
        p.put("stratify", stratifyField);
        p.put("group", groupField);
        p.put("groupNearDuplicates", groupNearDuplicates);
        return p;
    }
}
