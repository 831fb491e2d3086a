package dev.finetune4j.data.format;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads UTF-8 lines from a byte stream, strictly: a line with invalid UTF-8 or longer than a limit is reported,
 * not repaired, and reading continues with the next line. A leading byte-order mark is skipped; {@code \r\n} and
 * {@code \n} both end lines. Not thread-safe.
 */
final class LineReader implements Closeable {
    /**
     * One physical line: its text, or the reason it could not be decoded.
     *
     * @param number  the 1-based line number
     * @param text    the decoded line without its line break, or {@code null} when it could not be decoded
     * @param error   why it could not be decoded, or {@code null}
     * @param preview for a bad line, its text with invalid bytes replaced by U+FFFD (cut short when too long)
     * @param bytes   the line's length in bytes, line break excluded
     * @param tooLong whether the line was over the limit (then only the start of it is in {@code preview})
     */
    record Line(long number, String text, String error, String preview, long bytes, boolean tooLong) {
        /** The text, or for a line with invalid UTF-8 its text with replacement characters. */
        String visible() {
            return text != null ? text : preview;
        }
    }

    private final InputStream in;
    private final int maxBytes;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int limit;
    private byte[] line = new byte[256];
    private long number;
    private boolean first = true;

    LineReader(InputStream in, int maxBytes) {
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /** The next line, or {@code null} at the end of the stream. */
    Line next() throws IOException {
        int len = 0;
        long total = 0;
        boolean sawAny = false;
        while (true) {
            if (pos == limit) {
                limit = in.read(buf, 0, buf.length);
                pos = 0;
                if (limit <= 0) {
                    limit = 0;
                    if (!sawAny) {
                        return null;
                    }
                    break;
                }
            }
            sawAny = true;
            int start = pos;
            while (pos < limit && buf[pos] != '\n') {
                pos++;
            }
            int n = pos - start;
            total += n;
            if (total <= maxBytes) {
                if (len + n > line.length) {
                    line = Arrays.copyOf(line, Math.max(len + n, line.length * 2));
                }
                System.arraycopy(buf, start, line, len, n);
                len += n;
            }
            if (pos < limit) {
                pos++;
                break;
            }
        }
        number++;
        int off = 0;
        if (first) {
            first = false;
            if (len >= 3 && (line[0] & 0xFF) == 0xEF && (line[1] & 0xFF) == 0xBB && (line[2] & 0xFF) == 0xBF) {
                off = 3;
            }
        }
        if (len > off && line[len - 1] == '\r') {
            len--;
        }
        if (total > maxBytes) {
            return new Line(number, null, "line too long: " + total + " bytes, limit " + maxBytes
                    + " (raise ReadOptions.maxLineBytes if such lines are legitimate)", lossy(off, Math.min(len, 200)),
                    total, true);
        }
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(line, off, len - off));
            return new Line(number, chars.toString(), null, null, total, false);
        } catch (MalformedInputException e) {
            return new Line(number, null, "invalid UTF-8: malformed byte sequence of length " + e.getInputLength()
                    + " (the file must be UTF-8; re-encode it, e.g. iconv -f GBK -t UTF-8)", lossy(off, len), total,
                    false);
        } catch (CharacterCodingException e) {
            return new Line(number, null, "invalid UTF-8: " + e, lossy(off, len), total, false);
        }
    }

    private String lossy(int off, int len) {
        return new String(line, off, Math.max(0, len - off), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
