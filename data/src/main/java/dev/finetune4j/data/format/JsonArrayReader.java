package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * Streams the objects of one top-level JSON array. An element that is not an object, fails its schema or is
 * larger than the limit is quarantined and skipped. Malformed JSON or invalid UTF-8 leaves the rest of the array
 * unreadable: that is quarantined once, with the line where it happened, and reading ends.
 */
final class JsonArrayReader extends HashedRecordStream {
    private final int maxBytes;
    private JsonParser parser;
    private boolean done;

    JsonArrayReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.maxBytes = options.maxLineBytes();
    }

    @Override
    public Parsed next() throws IOException {
        if (done) {
            return null;
        }
        long line = 1;
        try {
            if (parser == null) {
                parser = Json.STREAMING.createParser(input);
                parser.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE); // NOTE: drain() still reads the rest
                JsonToken first = parser.nextToken();
                if (first == null) {
                    done = true;
                    return null;
                }
                if (first != JsonToken.START_ARRAY) {
                    done = true;
                    return factory.bad(1, "invalid JSON: a .json input must be one array of objects, found "
                            + first + " (use Formats.jsonl for one object per line)", null);
                }
            }
            JsonToken t = parser.nextToken();
            line = parser.currentTokenLocation().getLineNr();
            if (t == JsonToken.END_ARRAY || t == null) {
                done = true;
                drain();
                return null;
            }
            long start = parser.currentTokenLocation().getByteOffset();
            if (t != JsonToken.START_OBJECT) {
                parser.skipChildren();
                return factory.bad(line, "wrong field types: array element must be an object, found " + t, null);
            }
            ObjectNode node = parser.readValueAsTree();
            long size = parser.currentLocation().getByteOffset() - start;
            if (size > maxBytes) {
                return factory.bad(line, "line too long: element of " + size + " bytes, limit " + maxBytes
                        + " (raise ReadOptions.maxLineBytes if such elements are legitimate)", null);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = Json.STREAMING.convertValue(node, Map.class);
            return factory.make(line, fields, null);
        } catch (CharConversionException e) {
            done = true;
            drain();
            return factory.bad(line, "invalid UTF-8: " + e.getMessage() + "; rest of the array skipped", null);
        } catch (JsonProcessingException e) {
            done = true;
            drain();
            String reason = e.getOriginalMessage().contains("UTF-8") ? "invalid UTF-8: " : "invalid JSON: ";
            long at = e.getLocation() == null ? line : e.getLocation().getLineNr();
            return factory.bad(at, reason + e.getOriginalMessage() + "; rest of the array skipped", null);
        }
    }

    /** Reads to the end so that the file's hash covers all of it. */
    private void drain() throws IOException {
        input.transferTo(java.io.OutputStream.nullOutputStream());
    }

    @Override
    public void close() throws IOException {
        if (parser != null) {
            parser.close();
        }
        input.close();
    }
}
