package dev.finetune4j.data.split;

import com.google.common.hash.Hashing;
import dev.finetune4j.data.record.Record;

import java.nio.charset.StandardCharsets;

/** The seeded position in [0, 1) of a record, from its group or key; the same record always gets the same one. */
public final class SplitKeys {
    /** Metadata key under which near-dedup stores a record's cluster (the id of its first member). */
    public static final String CLUSTER_META = "cluster";

    private SplitKeys() {
    }

    /**
     * The record's position in [0, 1) for {@code spec}.
     *
     * @param r the record
     * @param spec the split, whose key field, group field and seed are used
     * @return a position that depends only on the record's key and the seed
     * @throws MissingSplitFieldException when the record lacks the split's group or key field
     */
    public static double position(Record r, SplitSpec spec) {
        String key = groupKey(r, spec);
        long h = Hashing.murmur3_128((int) spec.seed() ^ (int) (spec.seed() >>> 32))
                .hashString(key, StandardCharsets.UTF_8).asLong();
        return (h >>> 11) * 0x1.0p-53;
    }

    /** What decides the split: the near-duplicate cluster, the group field, the key field, or the text. */
    static String groupKey(Record r, SplitSpec spec) {
        if (spec.groupNearDuplicates() && r.meta().containsKey(CLUSTER_META)) {
            return "cluster\u0000" + r.meta().get(CLUSTER_META);
        }
        if (spec.groupField() != null) {
            return "group\u0000" + required(r, spec.groupField());
        }
        if (spec.keyField() != null) {
            return "key\u0000" + required(r, spec.keyField());
        }
        return "text\u0000" + r.text();
    }

    /**
     * The label a stratified split balances, or an exception naming the record when it has none.
     *
     * @param r the record
     * @param spec the split, whose stratify field is read
     * @return the label as a string
     * @throws MissingSplitFieldException when the record has no label
     */
    public static String label(Record r, SplitSpec spec) {
        return required(r, spec.stratifyField());
    }

    private static String required(Record r, String field) {
        String v = r.string(field);
        if (v == null) {
            throw new MissingSplitFieldException(r.id(), field);
        }
        return v;
    }

    /**
     * The index of the output whose cumulative share first exceeds {@code position}.
     *
     * @param position a position in [0, 1)
     * @param cumulative cumulative shares, the last one 1
     * @return the output index
     */
    public static int bucket(double position, double[] cumulative) {
        for (int i = 0; i < cumulative.length; i++) {
            if (position < cumulative[i]) {
                return i;
            }
        }
        return cumulative.length - 1;
    }

    /**
     * Cumulative shares of the outputs of {@code spec}.
     *
     * @param spec the split
     * @return one cumulative share per output, the last one 1
     */
    public static double[] cumulative(SplitSpec spec) {
        return spec.cumulative();
    }
}
