package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Record;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inputs written to break the readers: each line must end up as a record or in the quarantine, once. */
class HostileInputTest {
    private static final byte[] BAD_UTF8 = {(byte) 0xC3, (byte) 0x28};

    @TempDir
    Path dir;

    @Test
    void jsonlNullLineIsQuarantinedNotFatal() throws IOException {
        List<Parsed> got = readAll(Formats.jsonl(write("n.jsonl", utf8("{\"text\":\"a\"}\nnull\n{\"text\":\"b\"}\n"))));
        assertEquals(List.of(1L, 3L), okLines(got));
        assertBad(got.get(1), 2, "wrong field types", "found null");
    }

    @Test
    void hugeJsonArrayElementIsCountedAndSkippedWhileStreaming() throws IOException {
        // 25 million characters: more than Jackson builds in one string by default, far over the 1 KiB limit
        Path p = write("big.json", utf8("[{\"text\":\"a\"},\n{\"text\":\"" + "x".repeat(25_000_000) + "\"},\n"
                + "{\"text\":\"c\"}]\n"));
        List<Parsed> got = readAll(Formats.json(p).maxLineBytes(1024));
        assertEquals(3, got.size());
        assertBad(got.get(1), 2, "line too long", "element of 25000011 bytes, limit 1024");
        assertEquals("c", ((Parsed.Ok) got.get(2)).record().string("text"));
    }

    @Test
    void badJsonArrayElementsDoNotEndTheArray() throws IOException {
        Path p = write("e.json", utf8("[{\"text\":\"a\"},\n{\"text\": tru},\n{\"text\":\"caf"), BAD_UTF8,
                utf8("\"},\n null,\n{\"text\":\"ok, [with] {brackets} \\\" and a quote\"}]"));
        List<Parsed> got = readAll(Formats.json(p));
        assertEquals(5, got.size());
        assertBad(got.get(1), 2, "invalid JSON", "");
        assertBad(got.get(2), 3, "invalid UTF-8", "");
        assertBad(got.get(3), 4, "wrong field types", "found null");
        assertEquals("ok, [with] {brackets} \" and a quote", ((Parsed.Ok) got.get(4)).record().string("text"));
    }

    @Test
    void textAfterTheJsonArrayIsAnError() throws IOException {
        List<Parsed> got = readAll(Formats.json(write("t.json", utf8("[{\"text\":\"a\"}]\n\n{\"text\":\"b\"}\n"))));
        assertEquals(2, got.size());
        assertBad(got.get(1), 3, "invalid JSON", "text after the closing ']'");
        assertEquals(2, readAll(Formats.json(write("c.json", utf8("[{\"text\":\"a\"},]")))).size(),
                "a trailing comma is reported");
    }

    @Test
    void unbalancedCsvQuoteQuarantinesOneLineAndKeepsTheRows() throws IOException {
        Path p = write("q.csv", utf8("instruction,output\nq1,\"a1\nq2,a2\nq3,a3\n"));
        List<Parsed> got = readAll(Formats.csv(p));
        assertBad(got.get(0), 2, "invalid CSV", "does not close before the end of the file");
        assertEquals(List.of(3L, 4L), okLines(got));
        // the same within the size limit: the quote runs past maxLineBytes, the rows after it survive
        Path q = write("r.csv", utf8("instruction,output\nq1,\"a1\n" + "q,a\n".repeat(20)));
        List<Parsed> capped = readAll(Formats.csv(q).maxLineBytes(32));
        assertBad(capped.get(0), 2, "invalid CSV", "within 32 bytes");
        assertEquals(20, okLines(capped).size());
    }

    @Test
    void invalidUtf8InsideAQuotedCellQuarantinesTheWholeRow() throws IOException {
        Path p = write("u.csv", utf8("instruction,output\nq1,\"line one\n"), BAD_UTF8, utf8("\nline three\"\nq2,a2\n"));
        List<Parsed> got = readAll(Formats.csv(p));
        assertEquals(2, got.size());
        assertBad(got.get(0), 2, "invalid UTF-8", "line 3, inside a quoted row");
        assertEquals("q2", ((Parsed.Ok) got.get(1)).record().string("instruction"));
    }

    @Test
    void everyLineIsARecordOrQuarantinedOnce() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        String[] shapes = {"{\"text\":\"ok %d\"}", "null", "[1]", "{\"text\": %d}", "{bad json %d", "{\"x\":\"%d\"}",
                "{\"text\":\"t\"} trailing %d", "\"just a string %d\"", "{\"text\":\"" + "y".repeat(300) + "\"}"};
        int lines = 500;
        for (int i = 0; i < lines; i++) {
            if (i % 37 == 5) {
                b.writeBytes(BAD_UTF8);
            }
            b.writeBytes(utf8(String.format(shapes[i % shapes.length], i) + (i % 2 == 0 ? "\n" : "\r\n")));
        }
        List<Parsed> got = readAll(Formats.jsonl(write("mix.jsonl", b.toByteArray())).maxLineBytes(256));
        TreeSet<Long> seen = new TreeSet<>();
        for (Parsed p : got) {
            long line = p instanceof Parsed.Ok ok ? ok.record().source().line() : ((Parsed.Bad) p).badLine().line();
            assertTrue(seen.add(line), "line " + line + " reported twice");
        }
        assertEquals(lines, got.size(), "lines in = records + quarantined");
        assertEquals(lines, seen.last());
    }

    @Test
    void inputCannotClaimAnotherSource() throws IOException {
        Path p = write("in.jsonl",
                utf8("{\"text\":\"a\",\"_meta\":{\"source\":\"trusted.jsonl:1\",\"near_dup_cluster\":\"7\"}}\n"));
        Record r = ((Parsed.Ok) readAll(Formats.jsonl(p)).getFirst()).record();
        assertEquals("in.jsonl:1", r.id());
        assertEquals(Map.of(), r.meta());
        assertEquals(Map.of("text", "a"), r.fields());
        Record own = ((Parsed.Ok) readAll(Formats.jsonl(p).trustMeta()).getFirst()).record();
        assertEquals("trusted.jsonl:1", own.id(), "our own outputs keep their original source");
        Path csv = write("in.csv", utf8("text,_meta\nhello,\"{\"\"source\"\":\"\"x.jsonl:9\"\"}\"\n"));
        assertEquals("in.csv:2", ((Parsed.Ok) readAll(Formats.csv(csv)).getFirst()).record().id());
    }

    @Test
    void aDirectoryOrAFifoGivenAsAFileIsNamedNotRead() throws Exception {
        IOException e = assertThrows(IOException.class, () -> readAll(Formats.jsonl(dir)));
        assertTrue(e.getMessage().contains(dir.toAbsolutePath() + " is a directory"), e.getMessage());
        Path fifo = dir.resolve("fifo.jsonl");
        Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0,
                "mkfifo is not available here");
        IOException f = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(IOException.class, () -> readAll(Formats.jsonl(fifo))));
        assertTrue(f.getMessage().contains("is not a regular file"), f.getMessage());
    }

    @Test
    void hostileJsonValuesAreQuarantined() throws IOException {
        Path p = write("v.jsonl", utf8("{\"text\":\"a\",\"score\":1e999}\n{\"text\":\"b\",\"score\":NaN}\n"
                + "{\"text\":\"c\",\"x\":" + "[".repeat(100_000) + "\n{\"text\":\"d\",\"score\":-1.5e308}\n"));
        List<Parsed> got = readAll(Formats.jsonl(p));
        assertBad(got.get(0), 1, "wrong field types", "'score' is a number too large for a double");
        assertBad(got.get(1), 2, "invalid JSON", "NaN");
        assertBad(got.get(2), 3, "invalid JSON", "nesting depth");
        assertEquals(List.of(4L), okLines(got));
    }

    /**
     * A JSON escape of half a surrogate pair (text cut inside an emoji) is no Unicode text and cannot be written as
     * UTF-8: its line is quarantined naming the field, in JSONL and JSON arrays; a whole pair is an emoji.
     */
    @Test
    void anUnpairedSurrogateEscapeIsQuarantinedNamingTheField() throws IOException {
        String lines = "{\"text\":\"cut \\ud83d\"}\n{\"text\":\"whole \\ud83d\\ude00\"}\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"x\\ude00y\"}]}\n";
        List<Parsed> jsonl = readAll(Formats.jsonl(write("s.jsonl", utf8(lines))));
        assertBad(jsonl.get(0), 1, "invalid Unicode", "text holds an unpaired surrogate");
        assertEquals("whole \uD83D\uDE00", ((Parsed.Ok) jsonl.get(1)).record().string("text"));
        assertBad(jsonl.get(2), 3, "invalid Unicode", "messages[0].content holds an unpaired surrogate");

        List<Parsed> array = readAll(Formats.json(write("s.json", utf8("[" + lines.strip().replace("\n", ",\n") + "]"))));
        assertBad(array.get(0), 1, "invalid Unicode", "text holds an unpaired surrogate");
        assertEquals(List.of(2L), okLines(array));
    }

    static List<Parsed> readAll(Source s) throws IOException {
        List<Parsed> out = new ArrayList<>();
        try (RecordStream in = s.open()) {
            for (Parsed p; (p = in.next()) != null; ) {
                out.add(p);
            }
        }
        return out;
    }

    private static List<Long> okLines(List<Parsed> got) {
        return got.stream().filter(p -> p instanceof Parsed.Ok).map(p -> ((Parsed.Ok) p).record().source().line())
                .toList();
    }

    private Path write(String name, byte[]... parts) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            b.writeBytes(part);
        }
        Path p = dir.resolve(name);
        Files.write(p, b.toByteArray());
        return p;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertBad(Parsed p, long line, String kind, String reasonPart) {
        assertTrue(p instanceof Parsed.Bad, () -> "expected a bad line, got " + p);
        BadLine b = ((Parsed.Bad) p).badLine();
        assertEquals(line, b.line(), b.reason());
        assertEquals(kind, b.kind(), b.reason());
        assertTrue(b.reason().contains(reasonPart), b.reason());
    }
}
