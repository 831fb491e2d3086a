package dev.finetune4j.data.dedup;

import com.google.common.hash.Hashing;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitKeys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;

/**
 * Near-duplicate removal with MinHash + LSH over the whole corpus, with a result that does not depend on the
 * order records arrive in:
 *
 * <ol>
 *   <li>each record's MinHash signature is cut into {@code bands} band keys ({@link #key}, on all cores);</li>
 *   <li>in every band bucket (records with equal band key), the bucket's earliest record is a candidate partner
 *       of each other member (a star, so a bucket of k records costs k - 1 candidates, never k²/2 pairs);</li>
 *   <li>a candidate pair is an edge when its estimated Jaccard similarity (the share of equal signature values,
 *       {@link #similar}) is at least the threshold;</li>
 *   <li>the connected components of these edges are the near-duplicate clusters; the earliest record of each
 *       cluster is kept.</li>
 * </ol>
 *
 * "Earliest" is input order: input file by input file, record by record. finetune4j-spark computes exactly the
 * same edges and components, so both engines keep the same records. Records without tokens are kept and never
 * matched.
 *
 * <p>In {@link NearDedupConfig.Mode#DROP} mode every record but the earliest of its cluster is dropped. In
 * {@link NearDedupConfig.Mode#TAG} mode every record is kept and tagged with metadata {@code cluster} (a hash of
 * the id of its cluster's earliest record), which {@link dev.finetune4j.data.split.SplitSpec} uses to keep a
 * cluster in one split.
 *
 * <p>Memory of a pass: per record 8 bytes per band table slot plus 4 (ordinals) on the heap, 4 for the union-find
 * and 8 in tag mode; signatures ({@code 4 * numPerm} bytes per record) go to a temporary file in the scratch
 * folder. The step object itself holds only its configuration and is thread-safe.
 */
public final class NearDedup implements Step.Global<int[]> {
    /** The MinHash and LSH parameters. */
    private final NearDedupConfig config;
    /** Computes the signatures. */
    private final MinHasher hasher;

    /**
     * A near-dedup step.
     *
     * @param config its parameters
     */
    public NearDedup(NearDedupConfig config) {
        this.config = config;
        this.hasher = new MinHasher(config.numPerm(), config.seed());
    }

    @Override
    public String name() {
        return "near-dedup";
    }

    @Override
    public Map<String, Object> params() {
        return config.params();
    }

    /**
     * The step's parameters.
     *
     * @return the configuration
     */
    public NearDedupConfig config() {
        return config;
    }

    /**
     * The MinHash signature of the record's text.
     *
     * @param record the record
     * @return its signature, or {@code null} when the text has no tokens
     */
    @Override
    public int[] key(Record record) {
        String text = record.text();
        int[] sig = hasher.signature(text, MinHasher.shingleSize(text, config));
        return MinHasher.isEmpty(sig) ? null : sig;
    }

    /**
     * The band keys of a signature: two records are candidates when they share the key of one band.
     *
     * @param sig a signature from {@link #key}
     * @return one 64-bit key per band
     */
    public long[] bandKeys(int[] sig) {
        return LshIndex.bandHashes(sig, config.bands(), config.rows());
    }

    /**
     * Whether a candidate pair is a near duplicate: its estimated Jaccard similarity reaches the threshold.
     *
     * @param a one signature
     * @param b the other
     * @return {@code true} for an edge of the duplicate graph
     */
    public boolean similar(int[] a, int[] b) {
        return MinHasher.estimateJaccard(a, b) >= config.threshold();
    }

    /**
     * The cluster tag of tag mode for a cluster whose earliest record has id {@code id}.
     *
     * @param id the id of the cluster's earliest record
     * @return the tag written under metadata {@code cluster}
     */
    public static String clusterTag(String id) {
        return HexFormat.of().toHexDigits(Hashing.murmur3_128().hashString(id, StandardCharsets.UTF_8).asLong());
    }

    @Override
    public Pass<int[]> begin(Path scratch) throws IOException {
        return new NearDedupPass(this, scratch);
    }

    /** Tags {@code record} with its cluster for tag mode. */
    static Record tagged(Record record, String cluster) {
        return record.withMeta(SplitKeys.CLUSTER_META, cluster);
    }
}
