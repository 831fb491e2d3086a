package dev.finetune4j.spark;

import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.pipeline.InputReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.IntStream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;

/**
 * Reads inputs in parallel, one task per input file, with finetune4j-data's readers: the records, their ids,
 * the quarantined lines (file, line, reason) and the inputs' SHA-256 are exactly the single-machine pipeline's.
 * A task streams its file; it never holds it. Parquet files are read by Spark, their rows through data's JSONL
 * record path.
 */
final class SparkReader {
    private static final Encoder<ReadItem> ENCODER = BinaryEncoders.READ_ITEM;

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
        // NOTE: a Parquet file's task yields only its report (hash and size); its rows are read by Spark below.
        Dataset<ReadItem> items = spark.createDataset(jsc.parallelize(indexes, files.size())
                .flatMap(i -> files.get(i).isParquet() ? List.of(ReadItem.report(i, hashed(files.get(i)))).iterator()
                        : new Items(i, files.get(i))).rdd(), ENCODER);
        for (int i : indexes) {
            if (files.get(i).isParquet()) {
                items = items.union(parquetRows(spark, i, files.get(i)));
            }
        }
        return items;
    }

    /**
     * A Parquet file's rows as JSON objects with their position in the file, each made a record or a quarantined
     * row by data's JSONL path. The order key is the row's position, which orders the records as their ordinals
     * would.
     */
    private static Dataset<ReadItem> parquetRows(SparkSession spark, int input, SparkInput file) {
        String name = file.name();
        ReadOptions options = file.options();
        requireOneFile(file);
        return spark.read().parquet(file.path())
                .select(to_json(struct(col("*"))), col("_metadata.row_index"))
                .map((MapFunction<Row, ReadItem>) row -> {
                    long index = row.getLong(1);
                    return switch (Formats.parseObject(row.getString(0), name, index + 1, options)) {
                        case Parsed.Ok ok -> ReadItem.of(input, OrderKeys.of(input, index), ok.record());
                        case Parsed.Bad b -> ReadItem.bad(input, b.badLine());
                    };
                }, ENCODER);
    }

    /** Row numbers are positions in one file, so a folder of part files must be given file by file. */
    private static void requireOneFile(SparkInput file) {
        Path path = new Path(file.path());
        try {
            if (!path.getFileSystem(new Configuration()).getFileStatus(path).isFile()) {
                throw new IllegalArgumentException(file.path() + " is a folder; a Parquet input is one file (its row"
                        + " numbers name quarantined rows): add each part file as its own SparkInput.parquet");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file.path() + ": " + e.getMessage(), e);
        }
    }

    /** The report of a file read elsewhere: its hash and size; the counts are the pipeline's. */
    private static InputReport hashed(SparkInput file) throws IOException {
        Path path = new Path(file.path());
        MessageDigest sha256 = sha256();
        try (InputStream in = new DigestInputStream(path.getFileSystem(new Configuration()).open(path), sha256)) {
            long bytes = in.transferTo(OutputStream.nullOutputStream());
            return new InputReport(file.name(), HexFormat.of().formatHex(sha256.digest()), bytes, 0, 0);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
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
