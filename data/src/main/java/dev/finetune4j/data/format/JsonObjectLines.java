package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a JSONL file whose lines are JSON objects of any shape (feedback logs, judgments, anything that is not a
 * training record) as strictly as the record readers: invalid UTF-8, invalid JSON, an unpaired surrogate escape, a
 * value that is not an object and lines over the size limit come back as {@link BadLine}s, never thrown and never dropped; blank lines are
 * skipped. The record readers use it for JSONL too. Not thread-safe.
 *
 * <pre>{@code
 * try (JsonObjectLines in = JsonObjectLines.open(log)) {
 *     for (JsonObjectLines.Item item; (item = in.next()) != null; ) {
 *         switch (item) {
 *             case JsonObjectLines.Ok ok -> use(ok.line(), ok.object());
 *             case JsonObjectLines.Bad bad -> quarantine(bad.badLine());
 *         }
 *     }
 * }
 * }</pre>
 */
public final class JsonObjectLines implements Closeable {
    private final LineReader lines;
    private final String file;

    JsonObjectLines(InputStream in, String file, int maxLineBytes) {
        this.lines = new LineReader(in, maxLineBytes);
        this.file = file;
    }

    /**
     * Opens {@code file} with the default line limit ({@link ReadOptions#DEFAULTS}).
     *
     * @param file the JSONL file
     * @return a reader positioned before the first line; close it
     * @throws IOException when the file cannot be opened
     */
    public static JsonObjectLines open(Path file) throws IOException {
        return open(file, ReadOptions.DEFAULTS.maxLineBytes());
    }

    /**
     * Opens {@code file}; lines over {@code maxLineBytes} bytes are reported as bad.
     *
     * @param file the JSONL file
     * @param maxLineBytes the longest line read as an object, in bytes
     * @return a reader positioned before the first line; close it
     * @throws IOException when the file cannot be opened
     */
    public static JsonObjectLines open(Path file, int maxLineBytes) throws IOException {
        return new JsonObjectLines(Files.newInputStream(file), file.getFileName().toString(), maxLineBytes);
    }

    /**
     * Reads a stream opened elsewhere (a Hadoop or cloud file system) as {@link #open(Path, int)} reads a file.
     *
     * @param in           the stream, closed with the reader
     * @param name         the input's name, used in {@link BadLine}s
     * @param maxLineBytes the longest line read as an object, in bytes
     * @return a reader positioned before the first line; close it
     */
    public static JsonObjectLines open(InputStream in, String name, int maxLineBytes) {
        return new JsonObjectLines(in, name, maxLineBytes);
    }

    /**
     * Every object of {@code file} in order, for files that must be whole (bundled data, a prepared training
     * file): the first bad line is thrown, naming the file, the line and the reason. Read line by line with
     * {@link #next()} to quarantine bad lines instead.
     *
     * @param file the JSONL file
     * @return the objects in file order
     * @throws IOException when the file cannot be read or a line is not a JSON object
     */
    public static List<Ok> readAll(Path file) throws IOException {
        List<Ok> out = new ArrayList<>();
        try (JsonObjectLines in = open(file)) {
            for (Item item; (item = in.next()) != null; ) {
                switch (item) {
                    case Ok ok -> out.add(ok);
                    case Bad(BadLine b) -> throw new IOException(file + " line " + b.line() + ": " + b.reason());
                }
            }
        }
        return out;
    }

    /** One non-blank line: an object or a bad line. */
    public sealed interface Item {
    }

    /**
     * A line holding a JSON object.
     *
     * @param line   its 1-based line number
     * @param object the object as Jackson's plain Java shapes (maps, lists, strings, numbers, booleans)
     * @param text   the line as read, for a quarantine entry if the object turns out unusable
     */
    public record Ok(long line, Map<String, Object> object, String text) implements Item {
    }

    /**
     * A line that is not a JSON object, with the reason.
     *
     * @param badLine the line's file, number, reason and raw text
     */
    public record Bad(BadLine badLine) implements Item {
    }

    /**
     * The next non-blank line, or {@code null} at the end of the file.
     *
     * @return an {@link Ok} object, a {@link Bad} line, or {@code null}
     * @throws IOException when the file cannot be read
     */
    public Item next() throws IOException {
        LineReader.Line line;
        do {
            line = lines.next();
            if (line == null) {
                return null;
            }
        } while (line.error() == null && line.text().isBlank());
        if (line.error() != null) {
            return bad(file, line.number(), line.error(), line.preview());
        }
        return parse(file, line.number(), line.text());
    }

    /** One line's text as an object or a bad line; also the path of a row rendered as JSON elsewhere. */
    static Item parse(String file, long number, String text) {
        try {
            Map<String, Object> object = Json.readObject(text);
            if (object == null) {
                return bad(file, number, "wrong field types: a line must hold a JSON object, found null", text);
            }
            String surrogate = Json.unpairedSurrogate(object);
            if (surrogate != null) {
                return bad(file, number, Json.unpairedSurrogateReason(surrogate), text);
            }
            return new Ok(number, object, text);
        } catch (MismatchedInputException e) {
            return bad(file, number, "wrong field types: a line must hold a JSON object: " + e.getOriginalMessage(),
                    text);
        } catch (JsonProcessingException e) {
            return bad(file, number, "invalid JSON: " + e.getOriginalMessage(), text);
        }
    }

    private static Bad bad(String file, long line, String reason, String raw) {
        return new Bad(new BadLine(file, line, reason, raw));
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
