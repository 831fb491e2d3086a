package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads RFC 4180 CSV with a header row. Cells are strings, except the {@code messages} and {@code conversations}
 * columns, whose cells hold JSON arrays. Quoted cells may span lines; a record's line is the line it starts on.
 *
 * <p>A quote that never closes (before the end of the file, {@code maxLineBytes} or {@value #MAX_ROW_LINES}
 * lines) quarantines only the line that opened it; the lines after it are read again as rows, so no row is
 * swallowed. A row with invalid UTF-8 in any of its lines is quarantined whole.
 */
final class CsvReader extends HashedRecordStream {
    /** Columns whose cells are JSON text. */
    static final Set<String> JSON_COLUMNS = Set.of("messages", "conversations");
    /** The most lines one quoted row may span (so that a stray quote cannot make the reader hold a whole file). */
    static final int MAX_ROW_LINES = 65_536;
    private final LineReader lines;
    private final int maxBytes;
    /** Lines read past a quote that never closed, to be read again as rows. */
    private final Deque<LineReader.Line> reread = new ArrayDeque<>();
    private List<String> header;

    CsvReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.lines = new LineReader(input, options.maxLineBytes());
        this.maxBytes = options.maxLineBytes();
    }

    @Override
    public Parsed next() throws IOException {
        while (true) {
            LineReader.Line first = nextLine();
            if (first == null) {
                return null;
            }
            if (first.tooLong()) {
                return factory.bad(first.number(), first.error(), first.preview());
            }
            List<LineReader.Line> row = new ArrayList<>();
            row.add(first);
            long bytes = first.bytes();
            boolean open = oddQuotes(first.visible());
            while (open) {
                LineReader.Line more = nextLine();
                if (more == null || more.tooLong() || row.size() == MAX_ROW_LINES
                        || bytes + 1 + more.bytes() > maxBytes) {
                    return unclosed(row, more);
                }
                row.add(more);
                bytes += 1 + more.bytes();
                open ^= oddQuotes(more.visible());
            }
            Parsed undecodable = firstUndecodable(row);
            if (undecodable != null) {
                return undecodable;
            }
            String text = join(row);
            if (text.isEmpty()) {
                continue;
            }
            Parsed parsed = parseRow(first.number(), text);
            if (parsed != null) {
                return parsed;
            }
        }
    }

    private LineReader.Line nextLine() throws IOException {
        return reread.isEmpty() ? lines.next() : reread.pollFirst();
    }

    /** Quarantines the line that opened a quote that never closed; the lines after it will be read again. */
    private Parsed unclosed(List<LineReader.Line> row, LineReader.Line stoppedAt) {
        if (stoppedAt != null) {
            reread.addFirst(stoppedAt);
        }
        for (int i = row.size() - 1; i >= 1; i--) {
            reread.addFirst(row.get(i));
        }
        LineReader.Line first = row.getFirst();
        String where = stoppedAt == null ? "before the end of the file"
                : "within " + maxBytes + " bytes or " + MAX_ROW_LINES + " lines";
        return factory.bad(first.number(), "invalid CSV: a quoted cell opened on this line does not close " + where
                + " (an unbalanced '\"'); the following lines are read as rows", first.visible());
    }

    /** A row with a line that is not UTF-8 is quarantined whole, at the line where the row starts. */
    private Parsed firstUndecodable(List<LineReader.Line> row) {
        for (int i = 0; i < row.size(); i++) {
            LineReader.Line line = row.get(i);
            if (line.error() != null) {
                String where = row.size() == 1 ? "" : " (line " + line.number() + ", inside a quoted row)";
                return factory.bad(row.getFirst().number(), line.error() + where, join(row));
            }
        }
        return null;
    }

    private static String join(List<LineReader.Line> row) {
        return row.size() == 1 ? row.getFirst().visible()
                : String.join("\n", row.stream().map(LineReader.Line::visible).toList());
    }

    private static boolean oddQuotes(String line) {
        return !CsvCodec.complete(line);
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
            if ((JSON_COLUMNS.contains(name) || factory.trustsMeta() && name.equals(RecordFactory.META_FIELD))
                    && !cell.isEmpty()) {
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
