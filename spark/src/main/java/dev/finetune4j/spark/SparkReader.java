package dev.finetune4j.spark;

import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.pipeline.InputReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;

/**
 * Reads inputs in parallel, one task per input file, with finetune4j-data's readers: the records, their ids,
 * the quarantined lines (file, line, reason) and the inputs' SHA-256 are exactly the single-machine pipeline's.
 * A task streams its file; it never holds it.
 */
final class SparkReader {
    private SparkReader() {
    }

    static Dataset<ReadItem> read(SparkSession spark, List<SparkInput> inputs) {
        if (inputs.size() > OrderKeys.MAX_INPUTS) {
            throw new IllegalArgumentException(inputs.size() + " inputs, at most " + OrderKeys.MAX_INPUTS
                    + " are supported; concatenate some files");
        }
        List<SparkInput> files = List.copyOf(inputs);
        List<Integer> indexes = IntStream.range(0, files.size()).boxed().toList();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataset(jsc.parallelize(indexes, files.size())
                .flatMap(i -> new Items(i, files.get(i))).rdd(), Encoders.javaSerialization(ReadItem.class));
    }

    /** The items of one input, read lazily; the stream closes at its end or when the task ends. */
    private static final class Items implements Iterator<ReadItem> {
        private final int input;
        private final SparkInput file;
        private final RecordStream stream;
        private ReadItem next;
        private long records;
        private long bad;
        private boolean done;

        Items(int input, SparkInput file) throws IOException {
            this.input = input;
            this.file = file;
            Path path = new Path(file.path());
            FileSystem fs = path.getFileSystem(new Configuration());
            this.stream = Formats.reader(file.format(), fs.open(path), file.name(), file.options());
            TaskContext task = TaskContext.get();
            if (task != null) {
                task.addTaskCompletionListener((TaskCompletionListener) ctx -> closeQuietly());
            }
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done) {
                next = advance();
            }
            return next != null;
        }

        @Override
        public ReadItem next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            ReadItem item = next;
            next = null;
            return item;
        }

        private ReadItem advance() {
            try {
                Parsed p = stream.next();
                if (p == null) {
                    done = true;
                    InputReport report = new InputReport(file.name(), stream.sha256(), stream.bytesRead(), records,
                            bad);
                    stream.close();
                    return ReadItem.report(input, report);
                }
                return switch (p) {
                    case Parsed.Ok ok -> ReadItem.of(input, OrderKeys.of(input, records++), ok.record());
                    case Parsed.Bad b -> {
                        bad++;
                        yield ReadItem.bad(input, b.badLine());
                    }
                };
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + file.path() + ": " + e.getMessage(), e);
            }
        }

        private void closeQuietly() {
            try {
                stream.close();
            } catch (IOException e) {
                // NOTE: the task is over; a failure to close a read-only stream loses nothing
            }
        }
    }
}
