package dev.finetune4j.spark;

import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.ReadOptions;
import dev.finetune4j.data.record.Schema;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One input file of a Spark run: where it is (any Hadoop file system URI: {@code file:/...}, {@code hdfs://...},
 * {@code s3a://...}), its format and how to read it. A JSONL, JSON or CSV file is read by one task with
 * finetune4j-data's reader, so its records, ids and quarantined lines are exactly those of the single-machine
 * pipeline; many inputs are read in parallel. A Parquet file ({@link #parquet(String)}, Spark only) is read by
 * Spark in parallel; each row, rendered as a JSON object, becomes a record exactly as a JSONL line holding that
 * object would ({@link dev.finetune4j.data.format.Formats#parseObject}), with its 1-based row number as its line.
 *
 * @param path    the file's URI or path, unescaped as Hadoop's {@code Path} reads it ({@code hdfs:///raw/a b.jsonl})
 * @param format  its format, or {@code null} for Parquet
 * @param options how to read it (line limit, schema)
 */
public record SparkInput(String path, Format format, ReadOptions options) implements Serializable {
    /**
     * Checks the fields.
     *
     * @throws NullPointerException when the path or the options are missing
     */
    public SparkInput {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
    }

    /**
     * The Spark input for a single-machine source, e.g. {@code SparkInput.of(Formats.jsonl(path))}.
     *
     * @param source a file source of finetune4j-data
     * @return the same file, format and options
     */
    public static SparkInput of(FileSource source) {
        return new SparkInput(local(source.path()), source.format(), source.options());
    }

    /**
     * A Parquet file on the local disk (see {@link #parquet(String)}).
     *
     * @param file the file
     * @return the input, read with the default options
     */
    public static SparkInput parquet(Path file) {
        return parquet(local(file));
    }

    /** A local file as the Hadoop path string that names it, whatever characters its name holds. */
    private static String local(Path file) {
        // NOTE: Hadoop reads a path string unescaped: a file URI's "%20" would name a folder called "%20", so the
        // path goes in as Hadoop prints it ("file:/a b/c.jsonl"), its scheme keeping it off the default file system.
        // Built without Hadoop's classes, which a caller that only describes inputs (the CLI's plan) may lack.
        return "file:" + file.toAbsolutePath().toUri().getPath();
    }

    /**
     * A Parquet file, read by Spark: columns of the record shapes that JSONL lines have ({@code text}, {@code
     * instruction}/{@code output}, {@code messages}...); a row whose fields make no record (a missing or blank
     * text, a column of the wrong type) goes to the quarantine with the file, its row number and the reason.
     *
     * @param path the file's URI or path
     * @return the input, read with the default options
     */
    public static SparkInput parquet(String path) {
        return new SparkInput(path, null, ReadOptions.DEFAULTS);
    }

    /**
     * The same file, every record checked against {@code schema} (like {@link FileSource#schema}).
     *
     * @param schema the schema every record must satisfy
     * @return a new input; this one is unchanged
     */
    public SparkInput schema(Schema schema) {
        return new SparkInput(path, format, new ReadOptions(options.maxLineBytes(), schema, options.trustMeta()));
    }

    /**
     * Whether this input is a Parquet file.
     *
     * @return {@code true} when {@link #format()} is {@code null}
     */
    public boolean isParquet() {
        return format == null;
    }

    /**
     * The file name, as in record ids and the manifest (like {@link FileSource#name()}).
     *
     * @return the last segment of the path
     */
    public String name() {
        String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return p.substring(p.lastIndexOf('/') + 1);
    }
}
