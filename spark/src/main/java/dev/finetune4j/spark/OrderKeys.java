package dev.finetune4j.spark;

/**
 * The order key of a record: its input's index in the high bits and its ordinal among that input's records in
 * the low {@value #ORDINAL_BITS} bits, so that comparing keys compares input order (the order in which the
 * single-machine pipeline sees records). "The earliest record" of a duplicate group is the one with the
 * smallest key on both engines.
 */
final class OrderKeys {
    /** Bits of the ordinal within an input: up to 2^40 (about 10^12) records per input file. */
    static final int ORDINAL_BITS = 40;
    /** The most inputs one run can have. */
    static final int MAX_INPUTS = 1 << (63 - ORDINAL_BITS);

    private OrderKeys() {
    }

    static long of(int input, long ordinal) {
        if (ordinal >= 1L << ORDINAL_BITS) {
            throw new IllegalArgumentException("input " + input + " has more than 2^" + ORDINAL_BITS
                    + " records; split it into several files");
        }
        return ((long) input << ORDINAL_BITS) | ordinal;
    }
}
