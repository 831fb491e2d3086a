package dev.finetune4j.spark;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.split.SplitSpec;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Records per second of the same preparation (clean, quality, PII, exact and near dedup, stratified split) on the
 * single-machine pipeline and on Spark in local mode, on a {@link DirtyCorpus} with a skewed template cluster.
 * Arguments: records, template copies, Spark master (default {@code local[2]}), work folder. Not a unit test: run
 * it by hand (see benchmarks/RESULTS.md).
 */
public final class SparkPrepareBenchmark {
    private SparkPrepareBenchmark() {
    }

    /**
     * Runs the comparison.
     *
     * @param args records, template copies, master, work folder
     * @throws IOException when a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        int records = Integer.parseInt(args[0]);
        int copies = Integer.parseInt(args[1]);
        String master = args.length > 2 ? args[2] : "local[2]";
        Path work = Path.of(args.length > 3 ? args[3] : "/tmp/spark-prepare-bench");
        long t0 = System.nanoTime();
        List<Path> corpus = DirtyCorpus.write(work.resolve("in"), records, copies, 1);
        System.out.printf("corpus: %,d records (%,d template copies) in %.1f s%n", records, copies,
                (System.nanoTime() - t0) / 1e9);
        SplitSpec split = SplitSpec.ratio(0.8, 0.1, 0.1).seed(7).stratifyBy("label");
        long s0 = System.nanoTime();
        Pipeline.Builder single = Pipeline.builder().write(work.resolve("single")).split(split);
        corpus.forEach(p -> single.read(Formats.of(p)));
        steps().forEach(single::step);
        PipelineReport a = single.run();
        double singleSeconds = (System.nanoTime() - s0) / 1e9;
        System.out.printf("single machine: %.1f s, %,.0f records/s; near-dedup dropped %,d%n", singleSeconds,
                records / singleSeconds, a.step("near-dedup").dropped());
        SparkSession spark = SparkSession.builder().master(master).appName("bench")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8").getOrCreate();
        LargestTask tasks = new LargestTask();
        spark.sparkContext().addSparkListener(tasks);
        try {
            long p0 = System.nanoTime();
            SparkPipeline.Builder b = SparkPipeline.builder(spark).write(work.resolve("spark").toString()).split(split);
            corpus.forEach(p -> b.read(Formats.of(p)));
            steps().forEach(b::step);
            PipelineReport s = b.run();
            double sparkSeconds = (System.nanoTime() - p0) / 1e9;
            System.out.printf("spark %s:  %.1f s, %,.0f records/s; near-dedup dropped %,d; same steps: %s%n", master,
                    sparkSeconds, records / sparkSeconds, s.step("near-dedup").dropped(),
                    a.steps().equals(s.steps()));
            System.out.println("most skewed stage with at least the template's copies: " + tasks.mostSkewed(copies));
        } finally {
            spark.stop();
        }
    }

    private static List<Step> steps() {
        return List.of(TextCleaner.defaults(), new QualityFilter(QualityConfig.defaults().withChars(20, 20_000)),
                new PiiStep(PiiRedactor.defaults()), new ExactDedup(), new NearDedup(NearDedupConfig.defaults()));
    }
}
