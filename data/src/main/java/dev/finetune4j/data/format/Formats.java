package dev.finetune4j.data.format;

import java.io.InputStream;
import java.nio.file.Path;

/** Entry points for inputs: {@code Formats.jsonl(path)}, {@code Formats.json(path)}, {@code Formats.csv(path)}. */
public final class Formats {
    private Formats() {
    }

    /**
     * One JSON object per line.
     *
     * @param path the file
     * @return a source reading it as JSONL
     */
    public static FileSource jsonl(Path path) {
        return new FileSource(path, Format.JSONL, ReadOptions.DEFAULTS);
    }

    /**
     * One JSON array of objects.
     *
     * @param path the file
     * @return a source reading it as a JSON array
     */
    public static FileSource json(Path path) {
        return new FileSource(path, Format.JSON, ReadOptions.DEFAULTS);
    }

    /**
     * CSV with a header row.
     *
     * @param path the file
     * @return a source reading it as CSV
     */
    public static FileSource csv(Path path) {
        return new FileSource(path, Format.CSV, ReadOptions.DEFAULTS);
    }

    /**
     * The format implied by the file's extension ({@code .jsonl}, {@code .json}, {@code .csv}).
     *
     * @param path the file
     * @return a source reading it in the format of its extension
     */
    public static FileSource of(Path path) {
        String name = path.getFileName().toString().toLowerCase();
        for (Format f : Format.values()) {
            if (name.endsWith(f.extension())) {
                return new FileSource(path, f, ReadOptions.DEFAULTS);
            }
        }
        if (name.endsWith(".parquet")) {
            throw new IllegalArgumentException(path + " is a Parquet file, which only finetune4j-spark reads"
                    + " (SparkInput.parquet); run the preparation with SparkPipeline (finetune4j prepare"
                    + " --spark-master local[2] on one machine), or convert the file to JSONL");
        }
        throw new IllegalArgumentException("cannot tell the format of " + path
                + " from its extension; use Formats.jsonl, Formats.json or Formats.csv");
    }

    /**
     * One JSON object's text as a record of input {@code name} at {@code line}, exactly as a JSONL line holding it
     * would be read (schema detection and checks, quarantine reasons, ids): the path for rows of formats that
     * finetune4j-data does not read itself, rendered as JSON (Parquet rows on Spark).
     *
     * @param json    the object's JSON text
     * @param name    the input's name, used in the record id and a quarantine entry
     * @param line    the 1-based line or row number of the object in its input
     * @param options how to read it (schema, whether {@code _meta} is trusted)
     * @return the record, or the bad line with its reason
     */
    public static Parsed parseObject(String json, String name, long line, ReadOptions options) {
        return switch (JsonObjectLines.parse(name, line, json)) {
            case JsonObjectLines.Bad bad -> new Parsed.Bad(bad.badLine());
            case JsonObjectLines.Ok ok -> new RecordFactory(name, options.schema(), options.trustMeta())
                    .make(ok.line(), ok.object(), ok.text());
        };
    }

    /**
     * A reader of {@code format} over a stream opened elsewhere (a Hadoop or cloud file system): the same parsing,
     * quarantine and hashing as {@link FileSource#open()}.
     *
     * @param format  the stream's format
     * @param in      the stream, closed with the returned reader
     * @param name    the input's name, used in record ids and quarantine entries (a file name, not a path)
     * @param options how to read it
     * @return the open reader
     */
    public static RecordStream reader(Format format, InputStream in, String name, ReadOptions options) {
        return switch (format) {
            case JSONL -> new JsonlReader(in, name, options);
            case JSON -> new JsonArrayReader(in, name, options);
            case CSV -> new CsvReader(in, name, options);
        };
    }
}
