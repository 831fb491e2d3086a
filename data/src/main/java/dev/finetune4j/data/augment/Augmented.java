package dev.finetune4j.data.augment;

import dev.finetune4j.data.record.Record;

/** Names augmented copies and links them to their original. */
public final class Augmented {
    /** Metadata key holding the id of the record a copy was made from. */
    public static final String ORIGINAL_META = "augmented_from";
    /** Metadata key holding the augmentation method. */
    public static final String METHOD_META = "augmentation";

    private Augmented() {
    }

    /** A copy of {@code original} with new text values, id {@code <original id>#<method><n>}, linked back. */
    static Record copy(Record original, Record transformed, String method, int n) {
        return new Record(original.id() + "#" + method + n, original.source(), transformed.fields(), original.meta())
                .withMeta(ORIGINAL_META, original.id()).withMeta(METHOD_META, method);
    }
}
