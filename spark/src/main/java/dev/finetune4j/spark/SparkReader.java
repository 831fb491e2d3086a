package dev.finetune4j.spark;

import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.pipeline.InputReport;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
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

    /**
     * The items of every input, read lazily by the returned dataset.
     *
     * @throws FileNotFoundException    when an input does not exist, before any job runs
     * @throws IllegalArgumentException when an input is a folder or there are too many inputs
     */
    static Dataset<ReadItem> read(SparkSession spark, List<SparkInput> inputs) throws IOException {
        if (inputs.size() > OrderKeys.MAX_INPUTS) {
            throw new IllegalArgumentException(inputs.size() + " inputs, at most " + OrderKeys.MAX_INPUTS
                    + " are supported; concatenate some files");
        }
        List<SparkInput> files = List.copyOf(inputs);
        for (SparkInput file : files) {
            requireFile(spark.sparkContext().hadoopConfiguration(), file);
        }
        List<Integer> indexes = IntStream.range(0, files.size()).boxed().toList();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // NOTE: tasks open files with the session's Hadoop configuration, which holds the spark.hadoop.* settings
        // (object store credentials, say) that a new Configuration() on an executor would not see
        Broadcast<SerializableConfiguration> conf = SerializableConfiguration.broadcast(spark.sparkContext());
        // NOTE: a Parquet file's task yields only its report (hash and size); its rows are read by Spark below.
        Dataset<ReadItem> items = spark.createDataset(jsc.parallelize(indexes, files.size())
                .flatMap(i -> files.get(i).isParquet()
                        ? List.of(ReadItem.report(i, hashed(conf.value().value(), files.get(i)))).iterator()
                        : Items.open(i, files.get(i), conf.value().value())).rdd(), ENCODER);
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

    /**
     * Checks on the driver that an input is an existing file, so that a wrong path fails before a job runs (in a
     * task it would fail after the other inputs were read, and again on each retry). Row numbers and line numbers
     * are positions in one file, so a folder of part files must be given file by file.
     */
    private static void requireFile(Configuration conf, SparkInput file) throws IOException {
        Path path = new Path(file.path());
        FileStatus status;
        try {
            status = path.getFileSystem(conf).getFileStatus(path);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException("input " + file.path() + " does not exist; check the path given to"
                    + " SparkInput (a path without a scheme is on the cluster's default file system)");
        }
        if (!status.isFile()) {
            throw new IllegalArgumentException(file.path() + " is a folder; an input is one file (its line or row"
                    + " numbers name quarantined lines): add each part file as its own SparkInput");
        }
    }

    /** The report of a file read elsewhere: its hash and size; the counts are the pipeline's. */
    private static InputReport hashed(Configuration conf, SparkInput file) throws IOException {
        Path path = new Path(file.path());
        FileHash hash = FileHash.of(path.getFileSystem(conf), path);
        return new InputReport(file.name(), hash.sha256(), hash.bytes(), 0, 0);
    }

    /** The items of one input, read lazily, its report last. */
    private static final class Items extends ClosingIterator<ReadItem> {
        private final int input;
        private final SparkInput file;
        private final RecordStream stream;
        private long records;
        private long bad;
        private boolean reported;

        private Items(int input, SparkInput file, RecordStream stream) {
            super(stream, file.path());
            this.input = input;
            this.file = file;
            this.stream = stream;
        }

        static Items open(int input, SparkInput file, Configuration conf) throws IOException {
            Path path = new Path(file.path());
            FileSystem fs = path.getFileSystem(conf);
            return new Items(input, file, Formats.reader(file.format(), fs.open(path), file.name(), file.options()));
        }

        @Override
        protected ReadItem advance() throws IOException {
            if (reported) {
                return null;
            }
            Parsed p = stream.next();
            if (p == null) {
                reported = true;
                return ReadItem.report(input, new InputReport(file.name(), stream.sha256(), stream.bytesRead(),
                        records, bad));
            }
            return switch (p) {
                case Parsed.Ok ok -> ReadItem.of(input, OrderKeys.of(input, records++), ok.record());
                case Parsed.Bad b -> {
                    bad++;
                    yield ReadItem.bad(input, b.badLine());
                }
            };
        }
    }
}
