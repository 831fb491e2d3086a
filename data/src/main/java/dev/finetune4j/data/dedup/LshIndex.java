package dev.finetune4j.data.dedup;

import dev.finetune4j.data.clean.Tokens;

import java.io.Serializable;

/**
 * MinHash LSH over {@code bands} tables: two records are candidates when all {@code rows} signature values of
 * at least one band agree. Records are identified by ordinals 0, 1, 2... in insertion order. Not thread-safe.
 */
public final class LshIndex implements Serializable {
    /** Signature values per band. */
    private final int rows;
    /** One hash table per band. */
    private final BandTable[] tables;

    /**
     * An empty index.
     *
     * @param bands        number of bands
     * @param rows         signature values per band
     * @param expected     expected number of inserted records (tables grow beyond it)
     * @param withOrdinals remember which record first filled each bucket (needed to name clusters)
     */
    public LshIndex(int bands, int rows, int expected, boolean withOrdinals) {
        this.rows = rows;
        this.tables = new BandTable[bands];
        for (int i = 0; i < bands; i++) {
            tables[i] = new BandTable(expected, withOrdinals);
        }
    }

    /**
     * The 64-bit hash of each band of a signature; computing these is pure and may run on any thread.
     *
     * @param sig a MinHash signature of length at least {@code bands * rows}
     * @param bands number of bands
     * @param rows signature values per band
     * @return one hash per band
     */
    public static long[] bandHashes(int[] sig, int bands, int rows) {
        long[] out = new long[bands];
        for (int band = 0; band < bands; band++) {
            long h = band * 0x9E3779B97F4A7C15L;
            for (int j = band * rows; j < (band + 1) * rows; j++) {
                h = (h ^ sig[j]) * 0x100000001b3L;
            }
            out[band] = Tokens.mix(h);
        }
        return out;
    }

    /**
     * The ordinal of an indexed record sharing a band with {@code bandHashes}: {@code -2} when there is none,
     * {@code -1} when there is one but ordinals are not kept.
     *
     * @param bandHashes the band hashes of a record, from {@link #bandHashes}
     * @return an ordinal, {@code -1} or {@code -2} as above
     */
    public int query(long[] bandHashes) {
        for (int band = 0; band < tables.length; band++) {
            int slot = tables[band].find(bandHashes[band]);
            if (slot >= 0) {
                return tables[band].ordinalAt(slot);
            }
        }
        return -2;
    }

    /**
     * Indexes a record's bands under {@code ordinal}.
     *
     * @param bandHashes the band hashes of the record, from {@link #bandHashes}
     * @param ordinal the record's ordinal, {@code >= 0}
     */
    public void insert(long[] bandHashes, int ordinal) {
        for (int band = 0; band < tables.length; band++) {
            tables[band].putIfAbsent(bandHashes[band], ordinal);
        }
    }

    /**
     * Rows per band.
     *
     * @return the rows of each band
     */
    public int rows() {
        return rows;
    }

    /**
     * Bytes held by all band tables.
     *
     * @return the size of the tables in bytes
     */
    public long bytes() {
        long sum = 0;
        for (BandTable t : tables) {
            sum += t.bytes();
        }
        return sum;
    }
}
