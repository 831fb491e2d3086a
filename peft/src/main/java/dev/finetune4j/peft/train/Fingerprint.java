package dev.finetune4j.peft.train;

/**
 * A 64-bit hash of a sequence of token arrays, to tell whether a resumed run trains on the data of the interrupted
 * one (checkpoints keep it, not the data). Each array's length is mixed in before its values, so {@code [1, 2], [3]}
 * and {@code [1], [2, 3]} differ. Not for security: it detects mistakes, not forgeries.
 */
final class Fingerprint {
    private long h = 0x4649_4E47_4552_5052L;

    /** Mixes in {@code values}, length first. */
    Fingerprint add(long[] values) {
        h = Seeds.mix(h + values.length);
        for (long v : values) {
            h = Seeds.mix(h + 0x9E37_79B9_7F4A_7C15L + v);
        }
        return this;
    }

    /** Mixes in {@code value}'s characters, length first. */
    Fingerprint add(String value) {
        return add(value.chars().asLongStream().toArray());
    }

    /** Mixes in {@code values}, length first. */
    Fingerprint add(int[] values) {
        return add(java.util.Arrays.stream(values).asLongStream().toArray());
    }

    /** The hash of everything added so far. */
    long value() {
        return h;
    }
}
