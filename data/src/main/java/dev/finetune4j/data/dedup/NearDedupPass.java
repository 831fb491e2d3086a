package dev.finetune4j.data.dedup;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One run of {@link NearDedup} over a corpus. Records get ordinals in input order; each band table remembers the
 * first (smallest) ordinal of each band key, which is the bucket's earliest record, and every later member is
 * compared with it as it arrives; verified pairs are joined in a union-find whose representative is the smallest
 * member. Not thread-safe.
 */
final class NearDedupPass implements Step.Global.Pass<int[]> {
    private final NearDedup step;
    private final boolean tag;
    private final BandTable[] tables;
    private final SignatureFile signatures;
    private final MinUnionFind components = new MinUnionFind();
    private final List<String> clusterTags = new ArrayList<>();
    private int decided;

    NearDedupPass(NearDedup step, Path scratch) throws IOException {
        this.step = step;
        NearDedupConfig config = step.config();
        this.tag = config.mode() == NearDedupConfig.Mode.TAG;
        this.tables = new BandTable[config.bands()];
        for (int b = 0; b < tables.length; b++) {
            tables[b] = new BandTable(1 << 16);
        }
        this.signatures = new SignatureFile(scratch, config.numPerm());
    }

    @Override
    public void observe(int[] sig) throws IOException {
        int ordinal = components.add();
        if (sig == null) {
            // NOTE: a record without tokens still takes a slot so that ordinals match decide()'s positions
            signatures.append(new int[step.config().numPerm()]);
            return;
        }
        signatures.append(sig);
        long[] keys = step.bandKeys(sig);
        int lastHead = -1;
        for (int b = 0; b < keys.length; b++) {
            int slot = tables[b].find(keys[b]);
            if (slot < 0) {
                tables[b].putIfAbsent(keys[b], ordinal);
                continue;
            }
            int head = tables[b].ordinalAt(slot);
            if (head != lastHead && components.find(head) != components.find(ordinal)
                    && step.similar(signatures.read(head), sig)) {
                components.union(head, ordinal);
            }
            lastHead = head;
        }
    }

    @Override
    public Outcome decide(Record record) {
        int ordinal = decided++;
        int root = components.find(ordinal);
        if (!tag) {
            return root == ordinal ? Outcome.keep(record) : Outcome.drop("near duplicate");
        }
        if (root == ordinal) {
            String cluster = NearDedup.clusterTag(record.id());
            setTag(ordinal, cluster);
            return Outcome.keep(NearDedup.tagged(record, cluster));
        }
        setTag(ordinal, null);
        return Outcome.change(NearDedup.tagged(record, clusterTags.get(root)), "tagged near duplicate");
    }

    private void setTag(int ordinal, String cluster) {
        while (clusterTags.size() <= ordinal) {
            clusterTags.add(null);
        }
        clusterTags.set(ordinal, cluster);
    }

    @Override
    public void close() throws IOException {
        signatures.close();
    }
}
