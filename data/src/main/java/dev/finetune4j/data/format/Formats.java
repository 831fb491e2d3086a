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
        throw new IllegalArgumentException("cannot tell the format of " + path
                + " from its extension; use Formats.jsonl, Formats.json or Formats.csv");
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
