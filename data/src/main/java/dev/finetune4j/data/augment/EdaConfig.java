package dev.finetune4j.data.augment;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Easy Data Augmentation (Wei and Zou, 2019): the share of words touched by each operation, and copies per record.
 *
 * @param synonymRate  synonym replacement (SR)
 * @param insertRate   random insertion of a synonym of a random word (RI)
 * @param swapRate     random swap of two words (RS)
 * @param deleteRate   probability of deleting each word (RD)
 * @param copies       augmented copies per record
 * @param seed         seed; a record's copies depend only on the seed and the record's id
 */
public record EdaConfig(double synonymRate, double insertRate, double swapRate, double deleteRate, int copies,
                        long seed) implements Serializable {
    /** The most copies per record. */
    public static final int MAX_COPIES = 100;

    /** Checks that every rate lies in [0, 0.5] and copies in 1..{@link #MAX_COPIES}. */
    public EdaConfig {
        for (double r : new double[] {synonymRate, insertRate, swapRate, deleteRate}) {
            if (!(r >= 0 && r <= 0.5)) { // NOTE: written so that NaN fails too
                throw new IllegalArgumentException("EDA rates must lie in [0, 0.5] (the paper uses 0.1), found " + r);
            }
        }
        if (copies < 1 || copies > MAX_COPIES) {
            throw new IllegalArgumentException("copies must lie in 1.." + MAX_COPIES + " (the paper uses 4 to 32; a"
                    + " record's copies are held in memory together), found " + copies);
        }
    }

    /**
     * The paper's recommended 0.1 for every operation, 4 copies.
     *
     * @return rates 0.1, 4 copies, seed 1
     */
    public static EdaConfig defaults() {
        return new EdaConfig(0.1, 0.1, 0.1, 0.1, 4, 1);
    }

    Map<String, Object> params() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("synonymRate", synonymRate);
        p.put("insertRate", insertRate);
        p.put("swapRate", swapRate);
        p.put("deleteRate", deleteRate);
        p.put("copies", copies);
        p.put("seed", seed);
        return p;
    }
}
