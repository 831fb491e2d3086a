package dev.finetune4j.data.dedup;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.finetune4j.data.clean.Tokens;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.util.Map;

/**
 * Drops records whose normalized text was seen before. Normalized means: case, whitespace, punctuation and
 * symbols are ignored (the text is reduced to its token sequence, see {@link Tokens}). Only a 128-bit hash of
 * each distinct text is kept (16 bytes, in a flat table). The first occurrence in input order survives.
 *
 * <p>Hashing runs on all cores; membership is decided in input order. Not thread-safe as a whole.
 */
public final class ExactDedup implements Step.Keyed<long[]> {
    /** The hashes of the texts seen so far. */
    private final Hash128Set seen;

    /**
     * A dedup step sized for about {@code expectedRecords} distinct texts (it grows beyond that).
     *
     * @param expectedRecords the initial capacity of the hash table, in distinct texts
     */
    public ExactDedup(int expectedRecords) {
        this.seen = new Hash128Set(expectedRecords);
    }

    /** A dedup step sized for about 65,536 distinct texts (it grows beyond that). */
    public ExactDedup() {
        this(1 << 16);
    }

    @Override
    public String name() {
        return "exact-dedup";
    }

    @Override
    public Map<String, Object> params() {
        return Map.of("hash", "murmur3_128 of the token sequence", "normalization", "case, whitespace, punctuation");
    }

    @Override
    public long[] key(Record record) {
        return hash(record.text());
    }

    @Override
    public Outcome decide(Record record, long[] key) {
        return seen.add(key[0], key[1]) ? Outcome.keep(record) : Outcome.drop("exact duplicate");
    }

    /**
     * The 128-bit hash of the normalized text, as two longs.
     *
     * @param text a record's text
     * @return the two halves of the murmur3 128-bit hash of its token sequence
     */
    public static long[] hash(String text) {
        Hasher hasher = Hashing.murmur3_128().newHasher();
        Tokens.hashes(text, hasher::putLong);
        byte[] b = hasher.hash().asBytes();
        return new long[] {bytesToLong(b, 0), bytesToLong(b, 8)};
    }

    private static long bytesToLong(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /**
     * Distinct texts seen so far.
     *
     * @return the number of distinct texts kept so far
     */
    public int distinct() {
        return seen.size();
    }
}
