package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;

import java.io.IOException;
import java.io.InputStream;

/** Reads one JSON object per line; blank lines are skipped. */
final class JsonlReader implements RecordStream {
    private final HashingInput input;
    private final LineReader lines;
    private final RecordFactory factory;

    JsonlReader(InputStream in, String file, ReadOptions options) {
        this.input = new HashingInput(in);
        this.lines = new LineReader(input, options.maxLineBytes());
        this.factory = new RecordFactory(file, options.schema());
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
            return factory.make(line.number(), Json.readObject(line.text()), line.text());
        } catch (MismatchedInputException e) {
            return factory.bad(line.number(), "wrong field types: a line must hold a JSON object: "
                    + e.getOriginalMessage(), line.text());
        } catch (JsonProcessingException e) {
            return factory.bad(line.number(), "invalid JSON: " + e.getOriginalMessage(), line.text());
        }
    }

    @Override
    public String sha256() {
        return input.sha256();
    }

    @Override
    public long bytesRead() {
        return input.count();
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
