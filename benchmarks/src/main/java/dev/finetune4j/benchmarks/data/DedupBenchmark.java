package dev.finetune4j.benchmarks.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.MinHasher;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Cleaning, exact dedup, MinHash signatures and whole near-dedup (signatures + LSH insert/query) on the
 * {@code dedup_docs} corpus of ../shared/bench/corpora.py, with precision and recall against the planted clusters.
 *
 * <pre>java -Xmx3g -cp ... dev.finetune4j.benchmarks.data.DedupBenchmark /tmp/corpora/dedup_docs.jsonl</pre>
 */
public final class DedupBenchmark {
    private DedupBenchmark() {
    }

    /**
     * Runs the benchmark and prints timings, precision and recall.
     *
     * @param args optionally the corpus file
     * @throws IOException when the corpus cannot be read
     */
    public static void main(String[] args) throws IOException {
        Path corpus = Path.of(args.length > 0 ? args[0] : "/tmp/corpora/dedup_docs.jsonl");
        List<Record> docs = new ArrayList<>();
        List<Integer> cluster = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(corpus)) {
            int line = 0;
            for (String s; (s = r.readLine()) != null; ) {
                JsonNode n = Json.MAPPER.readTree(s);
                docs.add(Record.of(new SourceRef("dedup_docs.jsonl", ++line), Map.of("text", n.get("text").asText())));
                cluster.add(n.get("cluster").asInt());
            }
        }
        int n = docs.size();
        System.out.printf("docs %,d, threads %d%n", n, Runtime.getRuntime().availableProcessors());
        for (int rep = 0; rep < 2; rep++) { // first round warms the JIT; the second is reported
            System.out.println(rep == 0 ? "-- warm-up" : "-- measured");
            TextCleaner cleaner = TextCleaner.defaults();
            time("clean", n, () -> IntStream.range(0, n).parallel().forEach(i -> cleaner.apply(docs.get(i))));
            time("exact dedup (hash on 2 cores + sequential set)", n, () -> {
                ExactDedup ex = new ExactDedup(n);
                long[][] keys = new long[n][];
                IntStream.range(0, n).parallel().forEach(i -> keys[i] = ex.key(docs.get(i)));
                for (int i = 0; i < n; i++) {
                    ex.decide(docs.get(i), keys[i]);
                }
            });
            MinHasher mh = new MinHasher(128, 1);
            time("MinHash signatures only (128 perm, 5-word shingles)", n,
                    () -> IntStream.range(0, n).parallel().forEach(i -> mh.signature(docs.get(i).text(), 5)));
            nearDedup("near dedup, datasketch's config (128 perm, threshold 0.8 -> b=9 r=13)",
                    NearDedupConfig.forThreshold(0.8, 128), docs, cluster);
            nearDedup("near dedup, our default (128 perm, threshold 0.7 -> b=14 r=9)",
                    NearDedupConfig.defaults(), docs, cluster);
        }
        long peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                peak += p.getPeakUsage().getUsed();
            }
        }
        System.out.printf("peak heap (sum of pool peaks, includes the corpus held in memory): %,d MiB%n", peak >> 20);
    }

    private static void nearDedup(String label, NearDedupConfig config, List<Record> docs, List<Integer> cluster)
            throws java.io.IOException {
        int n = docs.size();
        NearDedup step = new NearDedup(config.withMode(NearDedupConfig.Mode.TAG));
        long t0 = System.nanoTime();
        Outcome[] out = step.applyAll(docs).toArray(Outcome[]::new);
        double s = (System.nanoTime() - t0) / 1e9;
        // ground truth: planted duplicates = records - distinct clusters; a flagged record is right when the
        // first record of its LSH cluster belongs to the same planted cluster
        Map<String, Integer> firstCluster = new java.util.HashMap<>();
        int flagged = 0;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            String tag = out[i].record().meta().get("cluster");
            if (out[i].kind() == Outcome.Kind.CHANGED) {
                flagged++;
                correct += cluster.get(i).equals(firstCluster.get(tag)) ? 1 : 0;
            } else {
                firstCluster.put(tag, cluster.get(i));
            }
        }
        long planted = n - cluster.stream().distinct().count();
        System.out.printf("%-70s %8.2f s %,10.0f docs/s  flagged %,d  precision %.4f  recall %.4f%n",
                label, s, n / s, flagged, (double) correct / flagged, (double) correct / planted);
    }

    private static void time(String label, int n, Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%-70s %8.2f s %,10.0f docs/s%n", label, s, n / s);
    }
}
