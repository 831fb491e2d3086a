package dev.finetune4j.data.format;

import java.util.ArrayList;
import java.util.List;

/** RFC 4180 cell splitting and quoting. */
final class CsvCodec {
    private CsvCodec() {
    }

    /** Whether the quotes of a (possibly partial) row are balanced, i.e. the row is complete. */
    static boolean complete(CharSequence row) {
        int quotes = 0;
        for (int i = 0; i < row.length(); i++) {
            if (row.charAt(i) == '"') {
                quotes++;
            }
        }
        return quotes % 2 == 0;
    }

    /**
     * The cells of one complete row.
     *
     * @throws IllegalArgumentException when a quote appears inside an unquoted cell or text follows a closing quote
     */
    static List<String> split(String row) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        int i = 0;
        while (true) {
            cell.setLength(0);
            if (i < row.length() && row.charAt(i) == '"') {
                i++;
                while (true) {
                    int q = row.indexOf('"', i);
                    cell.append(row, i, q);
                    i = q + 1;
                    if (i < row.length() && row.charAt(i) == '"') {
                        cell.append('"');
                        i++;
                    } else {
                        break;
                    }
                }
                if (i < row.length() && row.charAt(i) != ',') {
                    throw new IllegalArgumentException("text after a closing quote at column " + (i + 1));
                }
            } else {
                int comma = row.indexOf(',', i);
                int end = comma < 0 ? row.length() : comma;
                if (row.substring(i, end).indexOf('"') >= 0) {
                    throw new IllegalArgumentException("quote inside an unquoted cell at column " + (i + 1)
                            + " (quote the cell and double the quote)");
                }
                cell.append(row, i, end);
                i = end;
            }
            cells.add(cell.toString());
            if (i >= row.length()) {
                return cells;
            }
            i++; // the comma
        }
    }

    /** One cell, quoted when it needs to be. */
    static String quote(String cell) {
        boolean needs = cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0
                || cell.indexOf('\r') >= 0;
        return needs ? '"' + cell.replace("\"", "\"\"") + '"' : cell;
    }
}
