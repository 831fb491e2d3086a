package dev.finetune4j.data.dedup;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parameters of MinHash + LSH near-duplicate detection.
 *
 * @param numPerm   hash permutations (signature length), 1 to {@link #MAX_NUM_PERM}
 * @param bands     LSH bands; {@code bands * rows <= numPerm}
 * @param rows      rows per band
 * @param threshold the estimated Jaccard similarity a candidate pair must reach to count as near duplicates (the
 *                  bands are chosen for it by {@link #forThreshold})
 * @param shingling word or character n-grams
 * @param wordN     n of word n-grams
 * @param charN     n of character n-grams
 * @param seed      seed of the permutations
 * @param mode      drop near-duplicates, or keep them tagged with their cluster
 */
public record NearDedupConfig(int numPerm, int bands, int rows, double threshold, Shingling shingling, int wordN,
                              int charN, long seed, Mode mode) implements Serializable {
    /** What happens to a near-duplicate. */
    public enum Mode {
        /** Drop it (the earliest record of a cluster in input order survives). */
        DROP,
        /** Keep every record, tagging each with its cluster so that splits can keep clusters together. */
        TAG
    }

    /**
     * The most permutations: 64 times datasketch's default of 128 (users pick 128 to 512). Choosing the bands costs
     * about {@code numPerm ln(numPerm)} S-curve integrals and every record's signature {@code numPerm} hashes per
     * shingle, so a larger value buys no accuracy worth its time.
     */
    public static final int MAX_NUM_PERM = 8192;

    /**
     * Checks that {@code numPerm} lies in 1..{@link #MAX_NUM_PERM}, {@code bands * rows <= numPerm}, the threshold
     * lies in (0, 1) and the n-gram sizes are positive.
     */
    public NearDedupConfig {
        requireThresholdAndNumPerm(threshold, numPerm);
        if (bands < 1 || rows < 1 || (long) bands * rows > numPerm) {
            throw new IllegalArgumentException("need bands * rows <= numPerm, found bands=" + bands + " rows=" + rows
                    + " numPerm=" + numPerm + " (use NearDedupConfig.forThreshold to choose them)");
        }
        if (wordN < 1 || charN < 1) {
            throw new IllegalArgumentException("n-gram sizes must be >= 1, found wordN=" + wordN + " charN=" + charN);
        }
    }

    /**
     * Bands and rows chosen for {@code threshold} the way datasketch does (minimizing the sum of the false-positive
     * and false-negative areas under the LSH S-curve); 5-word or 3-character shingles, drop mode, seed 1.
     *
     * @param threshold the Jaccard similarity above which records count as near-duplicates, in (0, 1)
     * @param numPerm signature length, 1 to {@link #MAX_NUM_PERM}
     * @return the configuration
     * @throws IllegalArgumentException when the threshold or {@code numPerm} is out of range, before any search
     */
    public static NearDedupConfig forThreshold(double threshold, int numPerm) {
        requireThresholdAndNumPerm(threshold, numPerm); // NOTE: first, as the search's time grows with numPerm
        int[] br = LshParams.optimal(threshold, numPerm, 0.5, 0.5);
        return new NearDedupConfig(numPerm, br[0], br[1], threshold, Shingling.AUTO, 5, 3, 1, Mode.DROP);
    }

    private static void requireThresholdAndNumPerm(double threshold, int numPerm) {
        if (!(threshold > 0 && threshold < 1)) { // NOTE: written so that NaN fails too
            throw new IllegalArgumentException("threshold must lie in (0, 1), found " + threshold);
        }
        if (numPerm < 1 || numPerm > MAX_NUM_PERM) {
            throw new IllegalArgumentException("numPerm must lie in 1.." + MAX_NUM_PERM + ", found " + numPerm
                    + "; 128 (the default) to 512 is usual, more permutations only sharpen the similarity estimate");
        }
    }

    /**
     * The recommended default: 128 permutations tuned for Jaccard 0.7 (14 bands of 9 rows), which finds nearly all
     * pairs above 0.8 and almost none below 0.5.
     *
     * @return {@code forThreshold(0.7, 128)}
     */
    public static NearDedupConfig defaults() {
        return forThreshold(0.7, 128);
    }

    /**
     * This configuration with another mode.
     *
     * @param m drop or tag near-duplicates
     * @return a new configuration
     */
    public NearDedupConfig withMode(Mode m) {
        return new NearDedupConfig(numPerm, bands, rows, threshold, shingling, wordN, charN, seed, m);
    }

    /**
     * This configuration with other shingles.
     *
     * @param s word or character shingles, or chosen per text
     * @param words n of word n-grams, at least 1
     * @param chars n of character n-grams, at least 1
     * @return a new configuration
     */
    public NearDedupConfig withShingles(Shingling s, int words, int chars) {
        return new NearDedupConfig(numPerm, bands, rows, threshold, s, words, chars, seed, mode);
    }

    /**
     * This configuration with another seed of the permutations.
     *
     * @param s the seed
     * @return a new configuration
     */
    public NearDedupConfig withSeed(long s) {
        return new NearDedupConfig(numPerm, bands, rows, threshold, shingling, wordN, charN, s, mode);
    }

    /**
     * The parameters for the provenance manifest.
     *
     * @return name to value, in a fixed order
     */
    public Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("numPerm", numPerm);
        p.put("bands", bands);
        p.put("rows", rows);
        p.put("threshold", threshold);
        p.put("shingling", shingling.name());
        p.put("wordN", wordN);
        p.put("charN", charN);
        p.put("seed", seed);
        p.put("mode", mode.name());
        return p;
    }
}
