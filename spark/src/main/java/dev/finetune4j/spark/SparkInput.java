package dev.finetune4j.spark;

import dev.finetune4j.data.format.FileSource;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.ReadOptions;

import java.io.Serializable;
import java.util.Objects;

/**
 * One input file of a Spark run: where it is (any Hadoop file system URI: {@code file:/...}, {@code hdfs://...},
 * {@code s3a://...}), its format and how to read it. The file is read by one task with finetune4j-data's reader,
 * so its records, ids and quarantined lines are exactly those of the single-machine pipeline; many inputs are
 * read in parallel.
 *
 * @param path    the file's URI or path
 * @param format  its format
 * @param options how to read it (line limit, schema)
 */
public record SparkInput(String path, Format format, ReadOptions options) implements Serializable {
    /**
     * Checks the fields.
     *
     * @throws NullPointerException when a field is missing
     */
    public SparkInput {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
    }

    /**
     * The Spark input for a single-machine source, e.g. {@code SparkInput.of(Formats.jsonl(path))}.
     *
     * @param source a file source of finetune4j-data
     * @return the same file, format and options
     */
    public static SparkInput of(FileSource source) {
        return new SparkInput(source.path().toAbsolutePath().toUri().toString(), source.format(), source.options());
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
