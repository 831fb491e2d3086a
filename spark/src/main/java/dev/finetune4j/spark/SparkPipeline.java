package dev.finetune4j.spark;

import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.pipeline.EmptyDatasetException;
import dev.finetune4j.data.pipeline.InputReport;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.PipelineSteps;
import dev.finetune4j.data.pipeline.RunWarnings;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.pipeline.StepCounter;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.data.record.Record;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * finetune4j-data's pipeline on Apache Spark: the same inputs, steps and split give the same records in the same
 * outputs, the same quarantine and the same manifest counts as {@link dev.finetune4j.data.pipeline.Pipeline},
 * whatever the number of partitions.
 *
 * <pre>{@code
 * PipelineReport report = SparkPipeline.builder(spark)
 *     .read(SparkInput.of(Formats.jsonl(Path.of("raw.jsonl"))))
 *     .step(TextCleaner.defaults())
 *     .step(new ExactDedup())
 *     .step(new NearDedup(NearDedupConfig.defaults()))
 *     .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(42))
 *     .write("hdfs:///prepared/run-1")
 *     .run();
 * }</pre>
 *
 * <p>Supported steps: every {@link Step.Stateless} step that does not add records (cleaning, quality, PII),
 * {@link ExactDedup} and {@link NearDedup} in drop mode; anything else is refused when it is added. Outputs are
 * folders of JSONL part files ({@code train/}, {@code validation/}, {@code test/}, or {@code data/} without a
 * split, and {@code quarantine/} when a line was bad) beside {@code manifest.json}. They are written under
 * {@code _staging/} and moved into place at the end, so a run that fails leaves the earlier run's outputs as they
 * were; then the earlier run's outputs that this run does not write (as its manifest lists them) are removed. An input
 * inside a folder the run replaces, a missing input and an output folder that is a file are refused before any job
 * runs. A pipeline object runs once.
 */
public final class SparkPipeline {
    /** The library name and version written into manifests. */
    public static final String LIBRARY = "finetune4j-spark 0.2.0-SNAPSHOT";
    private static final Logger LOG = LoggerFactory.getLogger(SparkPipeline.class);
    private static final String QUARANTINE = "quarantine";

    private final Builder b;

    private SparkPipeline(Builder b) {
        this.b = b;
    }

    /**
     * A new builder.
     *
     * @param spark the session to run in
     * @return the builder
     */
    public static Builder builder(SparkSession spark) {
        return new Builder(spark);
    }

    /**
     * Configures a Spark pipeline; {@link #read} and {@link #write} are required. The steps, split and seed are
     * configured as for the single-machine pipeline ({@link PipelineSteps}), with the same calls.
     */
    public static final class Builder extends PipelineSteps<Builder> {
        private final SparkSession spark;
        private final List<SparkInput> inputs = new ArrayList<>();
        private String outDir;
        private int partitions;
        private long maxDriverEdges = 4_000_000;

        private Builder(SparkSession spark) {
            this.spark = spark;
        }

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Adds an input; input order decides which record of a duplicate group is the earliest.
         *
         * @param input the file
         * @return this builder
         */
        public Builder read(SparkInput input) {
            inputs.add(input);
            return this;
        }

        /**
         * Adds a local input of finetune4j-data.
         *
         * @param source the file
         * @return this builder
         */
        public Builder read(FileSource source) {
            return read(SparkInput.of(source));
        }

        /**
         * Appends a step that Spark can run.
         *
         * @param step a stateless step, {@link ExactDedup} or {@link NearDedup} in drop mode
         * @return this builder
         * @throws UnsupportedOperationException for a step Spark cannot run
         * @throws IllegalArgumentException      for a step that cannot be serialized to the executors
         */
        @Override
        public Builder step(Step step) {
            SparkSteps.requireSupported(step);
            return super.step(step);
        }

        /**
         * The output folder, any Hadoop file system URI or path. An earlier run's outputs in it are replaced when
         * this run has written its own, and those this run does not write are removed (see {@link SparkPipeline}).
         *
         * @param dir the folder
         * @return this builder
         */
        public Builder write(String dir) {
            this.outDir = dir;
            return this;
        }

        /**
         * How many partitions the records are spread over after reading (by default Spark's default
         * parallelism). The result does not depend on it.
         *
         * @param n partitions, at least 1
         * @return this builder
         * @throws IllegalArgumentException when {@code n < 1}
         */
        public Builder partitions(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("partitions must be >= 1, found " + n);
            }
            this.partitions = n;
            return this;
        }

        /**
         * Near dedup's connected components are computed on the driver up to this many verified near-duplicate
         * pairs (16 bytes each in one list, about 100 per record in the union-find), and with distributed
         * large-star/small-star rounds above it; 4 million by default. The result is the same either way.
         *
         * @param edges the most pairs handled on the driver, 0 to always distribute
         * @return this builder
         * @throws IllegalArgumentException when negative
         */
        public Builder maxDriverEdges(long edges) {
            if (edges < 0) {
                throw new IllegalArgumentException("maxDriverEdges must be >= 0, found " + edges);
            }
            this.maxDriverEdges = edges;
            return this;
        }

        /**
         * Runs the pipeline; see {@link SparkPipeline#run()}.
         *
         * @return the report, also written as {@code manifest.json}
         * @throws IOException           when the manifest cannot be written
         * @throws EmptyDatasetException when no record is left to write
         */
        public PipelineReport run() throws IOException {
            if (inputs.isEmpty()) {
                throw new IllegalStateException("no input: call read(SparkInput.of(Formats.jsonl(path))) before run()");
            }
            if (outDir == null) {
                throw new IllegalStateException("no output folder: call write(dir) before run()");
            }
            return new SparkPipeline(this).run();
        }
    }

    /**
     * Runs to completion.
     *
     * @return the report, also written as {@code manifest.json}
     * @throws IOException           when the manifest cannot be written
     * @throws EmptyDatasetException when no record is left to write (only the quarantine is written)
     */
    public PipelineReport run() throws IOException {
        long t0 = System.nanoTime();
        String startedAt = Instant.now().toString();
        List<String> warnings = new ArrayList<>(b.split() == null ? List.of() : b.split().warnings());
        List<String> names = new ArrayList<>(SparkSplit.names(b.split()));
        names.add(QUARANTINE);
        try (Persisted persisted = new Persisted();
             OutputFolder folder = OutputFolder.open(b.spark.sparkContext().hadoopConfiguration(), b.outDir,
                     b.inputs.stream().map(SparkInput::path).toList(), names)) {
            Dataset<ReadItem> items = persisted.keep(SparkReader.read(b.spark, b.inputs));
            Map<Integer, long[]> counts = parquetCounts(items, b.inputs);
            List<InputReport> inputs = items.filter((FilterFunction<ReadItem>) i -> i.report() != null)
                    .collectAsList().stream().sorted(Comparator.comparingInt(ReadItem::input))
                    .map(i -> {
                        long[] c = counts.get(i.input());
                        return c == null ? i.report()
                                : new InputReport(i.report().file(), i.report().sha256(), i.report().bytes(), c[0], c[1]);
                    }).toList();
            long quarantined = inputs.stream().mapToLong(InputReport::quarantined).sum();
            Map<String, Long> badKinds = new TreeMap<>();
            String quarantineFile = null;
            if (quarantined > 0) {
                Dataset<ReadItem> bad = items.filter((FilterFunction<ReadItem>) i -> i.bad() != null);
                for (Row r : bad.map((MapFunction<ReadItem, String>) i -> i.bad().kind(), Encoders.STRING())
                        .groupBy("value").count().collectAsList()) {
                    badKinds.put(r.getString(0), r.getLong(1));
                }
                bad.map((MapFunction<ReadItem, String>) i -> Json.write(i.bad()), Encoders.STRING()).write()
                        .mode(SaveMode.Overwrite).text(folder.staged(QUARANTINE));
                quarantineFile = QUARANTINE + "/";
                LOG.warn("{} bad input lines quarantined in {}: {}", quarantined, quarantineFile, badKinds);
            }
            Dataset<Tuple2<Long, Record>> records = items.filter((FilterFunction<ReadItem>) i -> i.record() != null)
                    .map((MapFunction<ReadItem, Tuple2<Long, Record>>) i -> new Tuple2<>(i.order(), i.record()),
                            Tracked.ENCODER);
            records = records.repartition(b.partitions > 0 ? b.partitions
                    : b.spark.sparkContext().defaultParallelism());
            // NOTE: how many records there are is known after each step, so the dedup steps need not count their input
            long count = inputs.stream().mapToLong(InputReport::records).sum();
            List<StepReport> stepReports = new ArrayList<>();
            for (int s = 0; s < b.steps().size(); ) {
                Step step = b.steps().get(s);
                if (step instanceof ExactDedup exact) {
                    SparkExactDedup.Result r = SparkExactDedup.apply(records, count, exact, persisted);
                    records = r.records();
                    stepReports.add(r.report());
                    s++;
                } else if (step instanceof NearDedup near) {
                    SparkNearDedup.Result r = SparkNearDedup.apply(records, count, near, b.maxDriverEdges, persisted);
                    records = r.records();
                    stepReports.add(r.report());
                    s++;
                } else {
                    int end = s;
                    while (end < b.steps().size() && b.steps().get(end) instanceof Step.Stateless) {
                        end++;
                    }
                    StatelessStage.Result r = StatelessStage.apply(records, b.steps().subList(s, end), persisted);
                    records = r.records();
                    r.counters().stream().map(StepCounter::report).forEach(stepReports::add);
                    s = end;
                }
                StepReport last = stepReports.getLast();
                count = last.kept() + last.changed();
            }
            List<WrittenFile> outputs = SparkSplit.write(records, b.split(), folder, persisted);
            if (quarantineFile != null) {
                folder.publish(QUARANTINE, QUARANTINE);
            }
            if (outputs.stream().mapToLong(WrittenFile::records).sum() == 0) {
                // NOTE: as on one machine, only the quarantine is written; the earlier outputs stay as they were
                throw new EmptyDatasetException("no records to write: the inputs gave " + inputs + "; steps "
                        + stepReports.stream().map(r -> r.name() + " dropped " + r.dropped()).toList()
                        + "; check that the input is not empty, its format and schema, and the steps' settings");
            }
            List<String> afterRun = new ArrayList<>(RunWarnings.of(stepReports, outputs, b.split() != null));
            Set<String> written = new HashSet<>(outputs.stream().map(WrittenFile::file).toList());
            if (quarantineFile != null) {
                written.add(quarantineFile);
            }
            afterRun.addAll(folder.finish(written));
            afterRun.forEach(w -> LOG.warn("{}", w));
            warnings.addAll(afterRun);
            PipelineReport report = new PipelineReport(LIBRARY, startedAt, (System.nanoTime() - t0) / 1_000_000,
                    b.seed(), inputs, quarantineFile, quarantined, badKinds, stepReports,
                    b.split() == null ? null : b.split().params(), outputs, warnings);
            folder.writeManifest(report);
            return report;
        }
    }

    /**
     * Records and quarantined rows per Parquet input, counted from what was read: a Parquet file's rows are read
     * by Spark, not by the task that reports its hash (the task that streams any other input counts as it reads).
     */
    private static Map<Integer, long[]> parquetCounts(Dataset<ReadItem> items, List<SparkInput> inputs) {
        Map<Integer, long[]> counts = new HashMap<>();
        if (inputs.stream().noneMatch(SparkInput::isParquet)) {
            return counts;
        }
        Set<Integer> parquet = IntStream.range(0, inputs.size()).filter(i -> inputs.get(i).isParquet()).boxed()
                .collect(Collectors.toSet());
        for (Row r : items.filter((FilterFunction<ReadItem>) i -> i.report() == null && parquet.contains(i.input()))
                .map((MapFunction<ReadItem, Tuple2<Integer, Boolean>>) i -> new Tuple2<>(i.input(), i.record() != null),
                        Encoders.tuple(Encoders.INT(), Encoders.BOOLEAN()))
                .groupBy("_1", "_2").count().collectAsList()) {
            counts.computeIfAbsent(r.getInt(0), k -> new long[2])[r.getBoolean(1) ? 0 : 1] = r.getLong(2);
        }
        parquet.forEach(i -> counts.putIfAbsent(i, new long[2]));
        return counts;
    }
}
