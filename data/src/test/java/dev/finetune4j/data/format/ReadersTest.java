package dev.finetune4j.data.format;

import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReadersTest {
    @TempDir
    Path dir;

    private static List<Parsed> readAll(Source s) throws IOException {
        List<Parsed> out = new ArrayList<>();
        try (RecordStream in = s.open()) {
            for (Parsed p; (p = in.next()) != null; ) {
                out.add(p);
            }
        }
        return out;
    }

    private Path write(String name, byte[]... parts) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        Path p = dir.resolve(name);
        Files.write(p, b.toByteArray());
        return p;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aParquetInputIsRefusedWithTheEngineThatReadsIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Formats.of(Path.of("tickets.parquet")));
        assertTrue(e.getMessage().contains("finetune4j-spark"), e.getMessage());
    }

    @Test
    void anObjectParsedAloneIsTheRecordOrBadLineOfTheSameJsonlLine() throws IOException {
        String good = "{\"text\":\"hello there\",\"label\":\"a\"}";
        String noText = "{\"label\":\"a\"}";
        Path file = dir.resolve("same.jsonl");
        Files.writeString(file, good + "\n" + noText + "\n");
        List<Parsed> read = new ArrayList<>();
        try (RecordStream in = Formats.jsonl(file).open()) {
            for (Parsed p; (p = in.next()) != null; ) {
                read.add(p);
            }
        }
        assertEquals(read.get(0), Formats.parseObject(good, "same.jsonl", 1, ReadOptions.DEFAULTS));
        assertEquals(read.get(1), Formats.parseObject(noText, "same.jsonl", 2, ReadOptions.DEFAULTS));
    }

    @Test
    void readAllReturnsEveryObjectOfAWholeFileAndRefusesABadLineByNumber() throws IOException {
        Path whole = write("whole.jsonl", utf8("{\"winner\":\"a\"}\n\n{\"winner\":\"tie\",\"n\":[1]}\n"));
        List<JsonObjectLines.Ok> ok = JsonObjectLines.readAll(whole);
        assertEquals(List.of(Map.of("winner", "a"), Map.of("winner", "tie", "n", List.of(1))),
                ok.stream().map(JsonObjectLines.Ok::object).toList());
        assertEquals(List.of(1L, 3L), ok.stream().map(JsonObjectLines.Ok::line).toList());

        Path broken = write("broken.jsonl", utf8("{\"winner\":\"a\"}\n[1]\n{\"winner\":\"b\"}\n"));
        IOException e = assertThrows(IOException.class, () -> JsonObjectLines.readAll(broken));
        assertTrue(e.getMessage().startsWith(broken + " line 2: wrong field types"), e.getMessage());
    }

    @Test
    void jsonlEveryKindOfBadLine() throws IOException {
        Path p = write("in.jsonl",
                new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},                      // BOM
                utf8("{\"text\":\"你好，世界\"}\n"),                                       // 1 ok
                utf8("{\"text\": \"unterminated}\n"),                                      // 2 invalid JSON
                utf8("{\"text\": 42}\n"),                                                   // 3 wrong type
                utf8("{\"text\":\"caf"), new byte[] {(byte) 0xC3, (byte) 0x28}, utf8("\"}\n"), // 4 invalid UTF-8
                utf8("{\"text\":\"" + "x".repeat(100) + "\"}\n"),                          // 5 too long
                utf8("\n"),                                                                 // 6 blank, skipped
                utf8("[1,2]\n"),                                                            // 7 not an object
                utf8("{\"text\":\"ok\"} trailing\n"),                                       // 8 trailing garbage
                utf8("{\"instruction\":\"q\",\"output\":\"a\"}\r\n"));                     // 9 ok, CRLF
        List<Parsed> got = readAll(Formats.jsonl(p).maxLineBytes(64));
        assertEquals(8, got.size());
        assertEquals("你好，世界", ((Parsed.Ok) got.get(0)).record().string("text"));
        assertEquals("in.jsonl:1", ((Parsed.Ok) got.get(0)).record().id());
        assertBad(got.get(1), 2, "invalid JSON");
        assertBad(got.get(2), 3, "wrong field types");
        assertTrue(((Parsed.Bad) got.get(2)).badLine().reason().contains("'text' must be a string, found number"));
        assertBad(got.get(3), 4, "invalid UTF-8");
        assertBad(got.get(4), 5, "line too long");
        assertBad(got.get(5), 7, "wrong field types");
        assertBad(got.get(6), 8, "invalid JSON");
        assertEquals(9, ((Parsed.Ok) got.get(7)).record().source().line());
    }

    @Test
    void schemaIsEnforcedWhenGiven() throws IOException {
        Path p = write("m.jsonl", utf8("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\"}]}\n"
                + "{\"text\":\"plain\"}\n"));
        List<Parsed> got = readAll(Formats.jsonl(p));
        assertBad(got.get(0), 1, "wrong field types");
        assertTrue(((Parsed.Bad) got.get(0)).badLine().reason().contains("messages[1].content"));
        assertBad(readAll(Formats.jsonl(p).schema(Schema.OPENAI)).get(1), 2, "wrong field types");
    }

    @Test
    void jsonArrayWithBadElementAndBom() throws IOException {
        Path p = write("a.json", new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                utf8("[\n {\"text\":\"one\"},\n 7,\n {\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\"}\n]\n"));
        List<Parsed> got = readAll(Formats.json(p));
        assertEquals(3, got.size());
        assertEquals(2, ((Parsed.Ok) got.get(0)).record().source().line());
        assertBad(got.get(1), 3, "wrong field types");
        assertEquals("c", ((Parsed.Ok) got.get(2)).record().string("chosen"));
    }

    @Test
    void jsonArrayTruncatedIsQuarantinedOnce() throws IOException {
        Path p = write("t.json", utf8("[{\"text\":\"one\"},\n{\"text\": tru"));
        List<Parsed> got = readAll(Formats.json(p));
        assertEquals(2, got.size());
        assertBad(got.get(1), 2, "invalid JSON");
    }

    @Test
    void csvQuotedMultilineCellsAndBadRows() throws IOException {
        Path p = write("c.csv", utf8("instruction,input,output\n"
                + "\"say \"\"hi\"\"\",,\"line one\nline two\"\n"
                + "too,few\n"
                + "翻译,你好,hello\n"));
        List<Parsed> got = readAll(Formats.csv(p));
        Record first = ((Parsed.Ok) got.get(0)).record();
        assertEquals("say \"hi\"", first.string("instruction"));
        assertEquals("line one\nline two", first.string("output"));
        assertBad(got.get(1), 4, "wrong field types");
        assertEquals(5, ((Parsed.Ok) got.get(2)).record().source().line());
    }

    @Test
    void writersRoundTripEveryFormat() throws IOException {
        Record r = Record.of(new dev.finetune4j.data.record.SourceRef("x.jsonl", 3),
                Map.of("messages", List.of(Map.of("role", "user", "content", "a,\"b\"\nc"))));
        for (Format f : Format.values()) {
            Path out = dir.resolve("out" + f.extension());
            try (RecordWriter w = new RecordWriter(out, f)) {
                w.write(r);
                WrittenFile wf = w.commit();
                assertEquals(1, wf.records());
                assertEquals(Sha256.of(out), wf.sha256());
            }
            List<Parsed> back = readAll(new FileSource(out, f, ReadOptions.DEFAULTS).trustMeta());
            Record again = ((Parsed.Ok) back.getFirst()).record();
            assertEquals(r.fields(), again.fields(), f.name());
            assertEquals("x.jsonl:3", again.id(), "the original source survives a round trip");
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".part")), "no temporary files left");
        }
    }

    private static void assertBad(Parsed p, long line, String kind) {
        assertTrue(p instanceof Parsed.Bad, () -> "expected a bad line, got " + p);
        BadLine b = ((Parsed.Bad) p).badLine();
        assertEquals(line, b.line(), b.reason());
        assertEquals(kind, b.kind(), b.reason());
    }
}
