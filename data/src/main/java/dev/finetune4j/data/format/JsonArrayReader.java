package dev.finetune4j.data.format;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.io.ByteArrayOutputStream;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Streams the objects of one top-level JSON array. The bytes are cut into elements first (strings, escapes and
 * brackets tracked, nothing built), so an element over the size limit is counted and skipped without ever being
 * held in memory; each element is then parsed on its own. An element that is not an object, is malformed, has
 * invalid UTF-8, fails its schema or is too large is quarantined and reading goes on with the next one. Only an
 * input that ends inside an element, or text after the closing bracket, ends the array early (quarantined too).
 */
final class JsonArrayReader extends HashedRecordStream {
    private static final int EOF = -1;
    private final int maxBytes;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int limit;
    private long lineNumber = 1;
    /** The element being cut: its first {@code maxBytes} bytes (plus one, to tell that it is over). */
    private final ByteArrayOutputStream element = new ByteArrayOutputStream();
    private State state = State.START;

    private enum State { START, FIRST_ELEMENT, NEXT_ELEMENT, AFTER_ARRAY, DONE }

    JsonArrayReader(InputStream in, String file, ReadOptions options) {
        super(in, file, options);
        this.maxBytes = options.maxLineBytes();
    }

    @Override
    public Parsed next() throws IOException {
        while (true) {
            switch (state) {
                case DONE -> {
                    return null;
                }
                case START -> {
                    int b = skipWhitespace(true);
                    if (b == EOF) {
                        state = State.DONE;
                        return null;
                    }
                    if (b != '[') {
                        return end(factory.bad(lineNumber, "invalid JSON: a .json input must be one array of objects,"
                                + " found '" + (char) b + "' (use Formats.jsonl for one object per line)", null));
                    }
                    state = State.FIRST_ELEMENT;
                }
                case AFTER_ARRAY -> {
                    int b = skipWhitespace(false);
                    if (b == EOF) {
                        state = State.DONE;
                        return null;
                    }
                    return end(factory.bad(lineNumber, "invalid JSON: text after the closing ']' of the array"
                            + " (a .json input is exactly one array)", null));
                }
                case FIRST_ELEMENT, NEXT_ELEMENT -> {
                    boolean first = state == State.FIRST_ELEMENT;
                    int b = skipWhitespace(false);
                    long line = lineNumber;
                    if (b == EOF) {
                        return end(factory.bad(line, "invalid JSON: the file ends before the array's closing ']'",
                                null));
                    }
                    if (b == ']') {
                        state = State.AFTER_ARRAY;
                        if (first) {
                            continue;
                        }
                        return factory.bad(line, "invalid JSON: ',' before the closing ']' (trailing comma)", null);
                    }
                    if (b == ',') {
                        state = State.NEXT_ELEMENT;
                        return factory.bad(line, "invalid JSON: missing array element before ','", null);
                    }
                    return cutElement(b, line);
                }
            }
        }
    }

    /** Reads one element starting with {@code first} up to the ',' or ']' that ends it, then parses it. */
    private Parsed cutElement(int first, long line) throws IOException {
        element.reset();
        long size = 0;
        int depth = 0;
        boolean inString = false;
        boolean escaped = false;
        for (int b = first; ; b = read()) {
            if (b == EOF) {
                return end(factory.bad(line, "invalid JSON: the file ends inside the element that starts here"
                        + " (lines " + line + "-" + lineNumber + "; an unclosed string, '{' or '[')", preview()));
            }
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (b == '\\') {
                    escaped = true;
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{' || b == '[') {
                depth++;
            } else if ((b == '}' || b == ']') && depth > 0) {
                depth--;
            } else if (depth == 0 && (b == ',' || b == ']')) {
                state = b == ',' ? State.NEXT_ELEMENT : State.AFTER_ARRAY;
                break;
            }
            size++;
            if (size <= maxBytes + 1L) {
                element.write(b);
            }
        }
        if (size > maxBytes) {
            return factory.bad(line, "line too long: element of " + size + " bytes, limit " + maxBytes
                    + " (raise ReadOptions.maxLineBytes if such elements are legitimate)", preview());
        }
        return parse(line);
    }

    private Parsed parse(long line) {
        byte[] bytes = element.toByteArray();
        Object value;
        try {
            value = Json.MAPPER.readValue(bytes, Object.class);
        } catch (CharConversionException e) {
            return factory.bad(line, "invalid UTF-8: " + e.getMessage(), preview());
        } catch (JsonProcessingException e) {
            String reason = e.getOriginalMessage().contains("UTF-8") ? "invalid UTF-8: " : "invalid JSON: ";
            return factory.bad(line, reason + e.getOriginalMessage(), preview());
        } catch (IOException e) {
            return factory.bad(line, "invalid JSON: " + e.getMessage(), preview());
        }
        if (!(value instanceof Map<?, ?> map)) {
            return factory.bad(line, "wrong field types: array element must be an object, found "
                    + (value == null ? "null" : Json.typeName(value)), preview());
        }
        String surrogate = Json.unpairedSurrogate(map);
        if (surrogate != null) {
            return factory.bad(line, Json.unpairedSurrogateReason(surrogate), preview());
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = (Map<String, Object>) map;
        return factory.make(line, fields, null);
    }

    private String preview() {
        int n = Math.min(element.size(), BadLine.RAW_PREVIEW_CHARS);
        return new String(element.toByteArray(), 0, n, StandardCharsets.UTF_8);
    }

    /** The next byte that is not JSON whitespace (a leading byte-order mark skipped too), or {@link #EOF}. */
    private int skipWhitespace(boolean atStart) throws IOException {
        int b = read();
        if (atStart && b == 0xEF) {
            if (read() != 0xBB || read() != 0xBF) {
                return 0xEF;
            }
            b = read();
        }
        while (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
            b = read();
        }
        return b;
    }

    private int read() throws IOException {
        if (pos == limit) {
            limit = input.read(buf, 0, buf.length);
            pos = 0;
            if (limit <= 0) {
                limit = 0;
                return EOF;
            }
        }
        int b = buf[pos++] & 0xFF;
        if (b == '\n') {
            lineNumber++;
        }
        return b;
    }

    /** Ends the array with {@code last}: the rest of the input is read so that the file's hash covers all of it. */
    private Parsed end(Parsed last) throws IOException {
        state = State.DONE;
        input.transferTo(OutputStream.nullOutputStream());
        return last;
    }

    @Override
    public void close() throws IOException {
        input.close();
    }
}
