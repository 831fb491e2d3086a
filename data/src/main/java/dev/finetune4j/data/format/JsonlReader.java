package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/** Reads one JSON object per line; blank lines are skipped. */
final class JsonlReader extends HashedRecordStream {
    private final LineReader lines;

    JsonlReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.lines = new LineReader(input, options.maxLineBytes());
    }

    @Override
    public Parsed next() throws IOException {
        LineReader.Line line;
        do {
            line = lines.next();
            if (line == null) {
                return null;
            }
        } while (line.error() == null && line.text().isBlank());
        if (line.error() != null) {
            return factory.bad(line.number(), line.error(), line.preview());
        }
        try {
            Map<String, Object> object = Json.readObject(line.text());
            if (object == null) {
                return factory.bad(line.number(), "wrong field types: a line must hold a JSON object, found null",
                        line.text());
            }
            return factory.make(line.number(), object, line.text());
        } catch (MismatchedInputException e) {
            return factory.bad(line.number(), "wrong field types: a line must hold a JSON object: "
                    + e.getOriginalMessage(), line.text());
        } catch (JsonProcessingException e) {
            return factory.bad(line.number(), "invalid JSON: " + e.getOriginalMessage(), line.text());
        }
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
