package dev.finetune4j.data.format;

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
}
