package dev.finetune4j.spark;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.format.RecordWriter;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.data.preference.FeedbackLog;
import dev.finetune4j.data.preference.PreferenceBuilder;
import dev.finetune4j.data.preference.PreferenceExport;
import dev.finetune4j.data.preference.PreferencePair;
import dev.finetune4j.data.preference.PreferenceStats;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Preference pairs from feedback logs on Spark, the same pairs as finetune4j-data's {@link PreferenceBuilder} on
 * one machine whatever the partitioning: each log is read by one task with {@link FeedbackLog#parse}, events are
 * grouped by prompt (the builder's state is per prompt), each prompt's events are given to a
 * {@link PreferenceBuilder} in log order (a rater's latest vote and equal-time ties resolve as on one machine),
 * and the pairs are numbered in the builder's order (prompts sorted, then each prompt's own order), so that every
 * line, {@code _meta.source} included, is the line {@link PreferenceExport#write} writes. One prompt's events are
 * held by one task.
 *
 * <pre>{@code
 * SparkPreferences.Report r = SparkPreferences.write(spark, List.of("hdfs:///logs/feedback.jsonl"), 1,
 *         PreferenceExport.Shape.TRL, "hdfs:///prepared/dpo", 0);
 * }</pre>
 */
public final class SparkPreferences {
    private static final String PAIRS = "pairs";
    private static final String QUARANTINE = "quarantine";

    private SparkPreferences() {
    }

    /**
     * What a run wrote.
     *
     * @param overall     the builder's statistics over all prompts
     * @param quarantined log lines that were not events, written to {@code quarantine/}
     */
    public record Report(PreferenceStats overall, long quarantined) implements Serializable {
    }

    /**
     * Reads the logs, builds the pairs and writes them to {@code outDir/pairs/} (JSONL part files) and the lines
     * that were not events to {@code outDir/quarantine/}.
     *
     * @param spark      the session
     * @param logs       the feedback logs (JSONL; Hadoop file system URIs or paths), in order
     * @param minMargin  the smallest net vote difference a pair needs, as {@link PreferenceBuilder}'s
     * @param shape      each line's shape
     * @param outDir     the output folder: its {@code pairs/} and {@code quarantine/} are replaced once both are
     *                   written, so a run that fails leaves an earlier run's as they were
     * @param partitions partitions of the grouping by prompt, or 0 for the session's default parallelism
     * @return the statistics and the quarantined count
     * @throws IOException              when the output folder cannot be created or its outputs moved into place
     * @throws IllegalArgumentException when a log lies in {@code pairs/} or {@code quarantine/}, before any job
     */
    public static Report write(SparkSession spark, List<String> logs, int minMargin, PreferenceExport.Shape shape,
            String outDir, int partitions) throws IOException {
        Objects.requireNonNull(shape, "shape");
        new PreferenceBuilder(minMargin); // checks the margin before any job runs
        List<String> files = List.copyOf(logs);
        try (OutputFolder folder = OutputFolder.open(spark.sparkContext().hadoopConfiguration(), outDir, files,
                List.of(PAIRS, QUARANTINE))) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            // NOTE: the session's Hadoop configuration, with its spark.hadoop.* settings, opens the logs (see
            // SparkReader)
            Broadcast<SerializableConfiguration> conf = SerializableConfiguration.broadcast(spark.sparkContext());
            JavaRDD<Read> read = jsc.parallelize(IntStream.range(0, files.size()).boxed().toList(),
                    Math.max(1, files.size())).flatMap(i -> LogReads.open(i, files.get(i), conf.value().value()))
                    .cache();
            try {
                Report report = build(read, minMargin, shape, partitions > 0 ? partitions : jsc.defaultParallelism(),
                        folder);
                folder.publish(PAIRS, PAIRS);
                folder.publish(QUARANTINE, QUARANTINE);
                folder.finish(Set.of(PAIRS + "/", QUARANTINE + "/"));
                return report;
            } finally {
                read.unpersist(false);
            }
        }
    }

    /** Builds the pairs of the events read and stages them, and the bad lines, in {@code folder}. */
    private static Report build(JavaRDD<Read> read, int minMargin, PreferenceExport.Shape shape, int groups,
                                OutputFolder folder) {
        JavaRDD<BadLine> bad = read.filter(r -> r.bad() != null).map(Read::bad);
        long quarantined = bad.count();
        bad.map(Json::write).saveAsTextFile(folder.staged(QUARANTINE));
        JavaRDD<PromptResult> built = read.filter(r -> r.event() != null)
                .mapToPair(r -> new Tuple2<>(r.event().prompt(), r))
                .groupByKey(groups)
                .map(g -> build(g._1(), g._2(), minMargin)).cache();
        try {
            PreferenceStats overall = built.map(PromptResult::stats)
                    .fold(new PreferenceStats(0, 0, 0, 0, 0), PreferenceStats::plus);
            JavaPairRDD<Tuple2<String, Integer>, PreferencePair> keyed = built.flatMapToPair(p ->
                    IntStream.range(0, p.pairs().size()).mapToObj(i ->
                            new Tuple2<>(new Tuple2<>(p.prompt(), i), p.pairs().get(i))).iterator());
            keyed.sortByKey(new PromptThenIndex(), true, groups).values().zipWithIndex()
                    .map(t -> Json.write(RecordWriter.jsonObject(PreferenceExport.record(t._1(), t._2() + 1,
                            shape))))
                    .saveAsTextFile(folder.staged(PAIRS));
            return new Report(overall, quarantined);
        } finally {
            built.unpersist(false);
        }
    }

    private static PromptResult build(String prompt, Iterable<Read> events, int minMargin) {
        List<Read> ordered = new ArrayList<>();
        events.forEach(ordered::add);
        ordered.sort(Comparator.comparingLong(Read::order));
        PreferenceBuilder.Result r = new PreferenceBuilder(minMargin).add(ordered.stream().map(Read::event).toList())
                .build();
        return new PromptResult(prompt, r.pairs(), r.overall());
    }

    /** One log's lines as events and bad lines, read lazily. */
    private static final class LogReads extends ClosingIterator<Read> {
        private final int input;
        private final String name;
        private final JsonObjectLines in;
        private long events;

        private LogReads(int input, String log, String name, JsonObjectLines in) {
            super(in, log);
            this.input = input;
            this.name = name;
            this.in = in;
        }

        static LogReads open(int input, String log, Configuration conf) throws IOException {
            Path path = new Path(log);
            return new LogReads(input, log, path.getName(), JsonObjectLines.open(path.getFileSystem(conf).open(path),
                    path.getName(), ReadOptions.DEFAULTS.maxLineBytes()));
        }

        @Override
        protected Read advance() throws IOException {
            JsonObjectLines.Item item = in.next();
            if (item == null) {
                return null;
            }
            return switch (FeedbackLog.parse(item, name)) {
                case FeedbackLog.Event e -> new Read(OrderKeys.of(input, events++), e.feedback(), null);
                case FeedbackLog.Bad b -> new Read(-1, null, b.badLine());
            };
        }
    }

    /**
     * One log line: an event with its order key, or a bad line.
     *
     * @param order the event's order key ({@link OrderKeys}: log, then position), or -1
     * @param event the event, or {@code null}
     * @param bad   the bad line, or {@code null}
     */
    private record Read(long order, Feedback event, BadLine bad) implements Serializable {
    }

    /**
     * One prompt's pairs, in the builder's order, and its statistics.
     *
     * @param prompt the prompt
     * @param pairs  its kept pairs
     * @param stats  its statistics
     */
    private record PromptResult(String prompt, List<PreferencePair> pairs, PreferenceStats stats)
            implements Serializable {
    }

    /** Sorts pairs as the builder lists them: by prompt, then by their index within the prompt. */
    private static final class PromptThenIndex implements Comparator<Tuple2<String, Integer>>, Serializable {
        @Override
        public int compare(Tuple2<String, Integer> a, Tuple2<String, Integer> b) {
            int c = a._1().compareTo(b._1());
            return c != 0 ? c : Integer.compare(a._2(), b._2());
        }
    }
}
