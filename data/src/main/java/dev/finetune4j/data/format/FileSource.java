package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Schema;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * A file of records. Create with {@link Formats}; adjust with {@link #schema(Schema)} and {@link #maxLineBytes(int)}.
 *
 * @param path    the file
 * @param format  its format
 * @param options how to read it
 */
public record FileSource(Path path, Format format, ReadOptions options) implements Source {
    @Override
    public String name() {
        return path.getFileName().toString();
    }

    @Override
    public List<Path> files() {
        return List.of(path);
    }

    /**
     * The same file, every record checked against {@code schema}.
     *
     * @param schema the schema every record must satisfy
     * @return a new source; this one is unchanged
     */
    public FileSource schema(Schema schema) {
        return new FileSource(path, format, new ReadOptions(options.maxLineBytes(), schema, options.trustMeta()));
    }

    /**
     * The same file, known to be written by this library (a pipeline's output, see {@code PipelineOutputs}): each
     * record's {@code _meta} is kept and its {@code _meta.source} becomes the record's id. Without this, an input's
     * {@code _meta} is ignored, because any file could claim any source there.
     *
     * @return a new source; this one is unchanged
     */
    public FileSource trustMeta() {
        return new FileSource(path, format, new ReadOptions(options.maxLineBytes(), options.schema(), true));
    }

    /**
     * The same file with another limit on line (or array element) size.
     *
     * @param maxLineBytes the longest line or element read, in bytes, at least 16
     * @return a new source; this one is unchanged
     */
    public FileSource maxLineBytes(int maxLineBytes) {
        return new FileSource(path, format, new ReadOptions(maxLineBytes, options.schema(), options.trustMeta()));
    }

    @Override
    public RecordStream open() throws IOException {
        if (Files.isDirectory(path)) {
            throw new IOException(path.toAbsolutePath() + " is a directory; give Formats." + format.name().toLowerCase()
                    + " a file (one per input: call read(...) for each)");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new IOException(path.toAbsolutePath() + " is not a regular file (a FIFO, socket or device, which"
                    + " could block reading forever); copy the data into a file");
        }
        InputStream in;
        try {
            in = Files.newInputStream(path);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toAbsolutePath().toString(), null,
                    "input file does not exist; check the path given to Formats." + format.name().toLowerCase());
        }
        return Formats.reader(format, in, name(), options);
    }
}
