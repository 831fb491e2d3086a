package dev.finetune4j.data.format;

import java.io.IOException;
import java.io.InputStream;

/** Reads one JSON object per line as records; blank lines are skipped. */
final class JsonlReader extends HashedRecordStream {
    private final JsonObjectLines lines;

    JsonlReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.lines = new JsonObjectLines(input, file, options.maxLineBytes());
    }

    @Override
    public Parsed next() throws IOException {
        return switch (lines.next()) {
            case null -> null;
            case JsonObjectLines.Bad bad -> new Parsed.Bad(bad.badLine());
            case JsonObjectLines.Ok ok -> factory.make(ok.line(), ok.object(), ok.text());
        };
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
