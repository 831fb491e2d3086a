package dev.finetune4j.data.format;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes bad lines as JSONL ({@code file}, {@code line}, {@code reason}, {@code raw}) to a temporary file that
 * {@link #commit()} renames into place. The file is created on the first bad line only. Not thread-safe.
 */
public final class QuarantineWriter implements Closeable {
    private final Path target;
    private Path temp;
    private BufferedWriter out;
    private long count;

    /**
     * A writer that creates {@code target} only if a bad line arrives.
     *
     * @param target the quarantine file
     */
    public QuarantineWriter(Path target) {
        this.target = target;
    }

    /**
     * Appends one bad line.
     *
     * @param bad the line to write
     * @throws IOException when the file cannot be written
     */
    public void write(BadLine bad) throws IOException {
        if (out == null) {
            Files.createDirectories(target.toAbsolutePath().getParent());
            temp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".part");
            out = Files.newBufferedWriter(temp, StandardCharsets.UTF_8);
        }
        out.write(Json.write(bad));
        out.write('\n');
        count++;
    }

    /**
     * How many bad lines were written.
     *
     * @return the number of lines written so far
     */
    public long count() {
        return count;
    }

    /**
     * Moves the file into place; returns its name, or {@code null} when there were no bad lines.
     *
     * @return the file name, or {@code null}
     * @throws IOException when the file cannot be moved
     */
    public String commit() throws IOException {
        if (out == null) {
            return null;
        }
        out.close();
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        out = null;
        return target.getFileName().toString();
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            out.close();
            Files.deleteIfExists(temp);
        }
    }
}
