package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Record;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes records to a temporary file beside the target and renames it into place on {@link #commit()}, so that
 * a reader never sees a half-written output. Each record is written with its fields and a {@code _meta} object
 * holding its source ({@code file:line}) and any metadata steps attached. Not thread-safe.
 *
 * <p>CSV output takes its header from the first record; nested values are written as JSON text.
 */
public final class RecordWriter implements Closeable {
    private final Path target;
    private final Path temp;
    private final Format format;
    private final MessageDigest digest = Sha256.newDigest();
    private final BufferedWriter out;
    private List<String> csvHeader;
    private long records;
    private boolean committed;

    /**
     * Opens {@code target} for writing in {@code format}; nothing appears at {@code target} until commit.
     *
     * @param target the file to create or replace
     * @param format the output format
     * @throws IOException when the temporary file cannot be created
     */
    public RecordWriter(Path target, Format format) throws IOException {
        this.target = target;
        this.format = format;
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        this.temp = Files.createTempFile(dir, "." + target.getFileName(), ".part");
        OutputStream os = new DigestOutputStream(Files.newOutputStream(temp), digest);
        this.out = new BufferedWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8), 1 << 16);
        if (format == Format.JSON) {
            out.write('[');
        }
    }

    /**
     * Appends one record.
     *
     * @param r the record to write
     * @throws IOException           when the file cannot be written
     * @throws IllegalStateException when a field holds an unpaired surrogate ({@link Json#requireUnicode})
     */
    public void write(Record r) throws IOException {
        Json.requireUnicode(r.fields(), r.id() + " (" + r.source() + ")");
        Map<String, Object> obj = jsonObject(r);
        switch (format) {
            case JSONL -> {
                out.write(Json.write(obj));
                out.write('\n');
            }
            case JSON -> {
                out.write(records == 0 ? "\n" : ",\n");
                out.write(Json.write(obj));
            }
            case CSV -> writeCsv(obj);
        }
        records++;
    }

    /**
     * A record as written: its fields and a {@code _meta} object with its source ({@code file:line}) and the
     * metadata steps attached. {@code Json.write(jsonObject(r))} is its JSONL line.
     *
     * @param r the record
     * @return the object to write
     */
    public static Map<String, Object> jsonObject(Record r) {
        Map<String, Object> obj = new LinkedHashMap<>(r.fields());
        Map<String, Object> meta = new LinkedHashMap<>(r.meta());
        meta.putIfAbsent("source", r.id());
        obj.put("_meta", meta);
        return obj;
    }

    private void writeCsv(Map<String, Object> obj) throws IOException {
        if (csvHeader == null) {
            csvHeader = new ArrayList<>(obj.keySet());
            out.write(String.join(",", csvHeader.stream().map(CsvCodec::quote).toList()));
            out.write("\r\n");
        }
        List<String> cells = new ArrayList<>(csvHeader.size());
        for (String column : csvHeader) {
            Object v = obj.get(column);
            cells.add(CsvCodec.quote(v == null ? "" : v instanceof String s ? s : Json.write(v)));
        }
        out.write(String.join(",", cells));
        out.write("\r\n");
    }

    /**
     * Finishes the file, moves it into place and describes it.
     *
     * @return the file's name, record count, size and SHA-256
     * @throws IOException when the file cannot be finished or moved
     */
    public WrittenFile commit() throws IOException {
        if (format == Format.JSON) {
            out.write(records == 0 ? "]\n" : "\n]\n");
        }
        out.close();
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
        return new WrittenFile(target.getFileName().toString(), records, Files.size(target),
                HexFormat.of().formatHex(digest.digest()));
    }

    /** Without a prior {@link #commit()}, discards the temporary file. */
    @Override
    public void close() throws IOException {
        if (!committed) {
            out.close();
            Files.deleteIfExists(temp);
        }
    }
}
