package dev.finetune4j.data.dedup;

import com.google.common.hash.Hashing;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitKeys;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;

/**
 * Near-duplicate removal with MinHash + LSH. Signatures and band hashes are computed on all cores
 * ({@link #key}); only the band hashes of kept records are indexed, in flat primitive tables, and signatures are
 * not kept, so memory grows by 8 bytes per band per distinct record (12 in tag mode).
 *
 * <p>In {@link NearDedupConfig.Mode#DROP} mode a record sharing a band with an earlier record is dropped. In
 * {@link NearDedupConfig.Mode#TAG} mode every record is kept and tagged with metadata {@code cluster} (the hash
 * of the id of its cluster's first record), which {@link dev.finetune4j.data.split.SplitSpec} uses to keep a
 * cluster in one split. Records without tokens are passed through untouched. Not thread-safe as a whole.
 */
public final class NearDedup implements Step.Keyed<long[]> {
    /** The MinHash and LSH parameters. */
    private final NearDedupConfig config;
    /** Computes the signatures. */
    private final MinHasher hasher;
    /** The band tables of the kept records. */
    private final LshIndex index;
    /** Cluster id by ordinal of an indexed record (tag mode only). */
    private long[] clusterOf = new long[1024];
    /** Records indexed so far. */
    private int inserted;

    /**
     * A step sized for about {@code expectedRecords} distinct records (it grows beyond that).
     *
     * @param config the MinHash and LSH parameters
     * @param expectedRecords initial capacity of the tables, in distinct records
     */
    public NearDedup(NearDedupConfig config, int expectedRecords) {
        this.config = config;
        this.hasher = new MinHasher(config.numPerm(), config.seed());
        this.index = new LshIndex(config.bands(), config.rows(), expectedRecords,
                config.mode() == NearDedupConfig.Mode.TAG);
    }

    /**
     * A step sized for about 65,536 distinct records (it grows beyond that).
     *
     * @param config the MinHash and LSH parameters
     */
    public NearDedup(NearDedupConfig config) {
        this(config, 1 << 16);
    }

    @Override
    public String name() {
        return "near-dedup";
    }

    @Override
    public Map<String, Object> params() {
        return config.params();
    }

    /** The band hashes of the record's text, or {@code null} when it has no tokens. */
    @Override
    public long[] key(Record record) {
        String text = record.text();
        int[] sig = hasher.signature(text, MinHasher.shingleSize(text, config));
        return MinHasher.isEmpty(sig) ? null : LshIndex.bandHashes(sig, config.bands(), config.rows());
    }

    @Override
    public Outcome decide(Record record, long[] bands) {
        if (bands == null) {
            return Outcome.keep(record);
        }
        int match = index.query(bands);
        if (config.mode() == NearDedupConfig.Mode.DROP) {
            if (match != -2) {
                return Outcome.drop("near duplicate");
            }
            index.insert(bands, inserted++);
            return Outcome.keep(record);
        }
        long cluster;
        if (match >= 0) {
            cluster = clusterOf[match];
        } else {
            cluster = Hashing.murmur3_128().hashString(record.id(), StandardCharsets.UTF_8).asLong();
            if (inserted == clusterOf.length) {
                clusterOf = Arrays.copyOf(clusterOf, inserted * 2);
            }
            clusterOf[inserted] = cluster;
            index.insert(bands, inserted++);
        }
        Record tagged = record.withMeta(SplitKeys.CLUSTER_META, HexFormat.of().toHexDigits(cluster));
        return match >= 0 ? Outcome.change(tagged, "tagged near duplicate") : Outcome.keep(tagged);
    }

    /**
     * Records indexed so far (the distinct ones).
     *
     * @return the number of records in the index
     */
    public int indexed() {
        return inserted;
    }

    /**
     * Bytes held by the LSH tables (and cluster ids in tag mode).
     *
     * @return the size of the tables in bytes
     */
    public long bytes() {
        return index.bytes() + (config.mode() == NearDedupConfig.Mode.TAG ? 8L * clusterOf.length : 0);
    }
}
