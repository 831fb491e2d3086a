package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads RFC 4180 CSV with a header row. Cells are strings, except the {@code messages} and {@code conversations}
 * columns, whose cells hold JSON arrays. Quoted cells may span lines; a record's line is the line it starts on.
 */
final class CsvReader extends HashedRecordStream {
    /** Columns whose cells are JSON text. */
    static final Set<String> JSON_COLUMNS = Set.of("messages", "conversations");
    private final LineReader lines;
    private final int maxBytes;
    private List<String> header;

    CsvReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.lines = new LineReader(input, options.maxLineBytes());
        this.maxBytes = options.maxLineBytes();
    }

    @Override
    public Parsed next() throws IOException {
        while (true) {
            LineReader.Line first = lines.next();
            if (first == null) {
                return null;
            }
            if (first.error() != null) {
                return factory.bad(first.number(), first.error(), first.preview());
            }
            StringBuilder row = new StringBuilder(first.text());
            while (!CsvCodec.complete(row)) {
                LineReader.Line more = lines.next();
                if (more == null) {
                    return factory.bad(first.number(), "invalid CSV: unterminated quoted cell", row.toString());
                }
                if (more.error() != null) {
                    return factory.bad(more.number(), more.error(), more.preview());
                }
                row.append('\n').append(more.text());
                if (row.length() > maxBytes) {
                    return factory.bad(first.number(), "line too long: quoted row over " + maxBytes + " bytes",
                            row.substring(0, 200));
                }
            }
            if (row.isEmpty()) {
                continue;
            }
            Parsed parsed = parseRow(first.number(), row.toString());
            if (parsed != null) {
                return parsed;
            }
        }
    }

    private Parsed parseRow(long line, String row) {
        List<String> cells;
        try {
            cells = CsvCodec.split(row);
        } catch (IllegalArgumentException e) {
            return factory.bad(line, "invalid CSV: " + e.getMessage(), row);
        }
        if (header == null) {
            header = cells;
            return null;
        }
        if (cells.size() != header.size()) {
            return factory.bad(line, "wrong field types: row has " + cells.size() + " cells, header has "
                    + header.size(), row);
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        for (int i = 0; i < cells.size(); i++) {
            String name = header.get(i);
            String cell = cells.get(i);
            if ((JSON_COLUMNS.contains(name) || name.equals(RecordFactory.META_FIELD)) && !cell.isEmpty()) {
                try {
                    fields.put(name, Json.MAPPER.readValue(cell, Object.class));
                } catch (JsonProcessingException e) {
                    return factory.bad(line, "invalid JSON: in column '" + name + "': " + e.getOriginalMessage(), row);
                }
            } else {
                fields.put(name, cell);
            }
        }
        return factory.make(line, fields, row);
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
