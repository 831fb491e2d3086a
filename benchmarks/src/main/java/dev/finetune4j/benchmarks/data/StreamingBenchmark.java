package dev.finetune4j.benchmarks.data;

import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.data.split.SplitSpec;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Streams N synthetic records (20-60 words; 5% exact copies, 10% near copies) through clean + exact dedup +
 * near dedup + an 80/10/10 split, to show the pipeline's memory stays bounded.
 *
 * <pre>java -Xmx512m -cp ... dev.finetune4j.benchmarks.data.StreamingBenchmark /tmp/stream 1000000</pre>
 */
public final class StreamingBenchmark {
    private StreamingBenchmark() {
    }

    /**
     * Runs the benchmark and prints the pipeline's report and memory.
     *
     * @param args optionally the folder and the number of records
     * @throws IOException when a file cannot be written or read
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/stream");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        Path in = dir.resolve("in.jsonl");
        Files.createDirectories(dir);
        generate(in, n);
        long t0 = System.nanoTime();
        PipelineReport r = Pipeline.builder().read(Formats.jsonl(in))
                .step(TextCleaner.defaults())
                .step(new ExactDedup(n))
                .step(new NearDedup(NearDedupConfig.defaults()))
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(42))
                .write(dir.resolve("out")).run();
        double s = (System.nanoTime() - t0) / 1e9;
        for (StepReport st : r.steps()) {
            System.out.printf("%-12s in %,d kept %,d changed %,d dropped %,d %s%n", st.name(), st.in(), st.kept(),
                    st.changed(), st.dropped(), st.dropReasons());
        }
        long peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                peak += p.getPeakUsage().getUsed();
            }
        }
        System.out.printf("records %,d  written %,d  %.1f s  %,.0f records/s  max heap %,d MiB  peak heap %,d MiB%n",
                n, r.written(), s, n / s, Runtime.getRuntime().maxMemory() >> 20, peak >> 20);
    }

    private static void generate(Path file, int n) throws IOException {
        SplittableRandom rnd = new SplittableRandom(11);
        List<String> recent = new ArrayList<>();
        try (BufferedWriter w = Files.newBufferedWriter(file)) {
            for (int i = 0; i < n; i++) {
                String text;
                double u = rnd.nextDouble();
                if (u < 0.05 && !recent.isEmpty()) {
                    text = recent.get(rnd.nextInt(recent.size())).toUpperCase();
                } else if (u < 0.15 && !recent.isEmpty()) {
                    String[] words = recent.get(rnd.nextInt(recent.size())).split(" ");
                    words[rnd.nextInt(words.length)] = "edited" + rnd.nextInt(1000);
                    text = String.join(" ", words);
                } else {
                    StringBuilder sb = new StringBuilder();
                    int len = 20 + rnd.nextInt(41);
                    for (int j = 0; j < len; j++) {
                        sb.append(j == 0 ? "" : " ").append("w").append(rnd.nextInt(50_000));
                    }
                    text = sb.toString();
                    if (recent.size() < 10_000) {
                        recent.add(text);
                    } else {
                        recent.set(rnd.nextInt(recent.size()), text);
                    }
                }
                w.write("{\"text\":\"" + text + "\"}\n");
            }
        }
    }
}
