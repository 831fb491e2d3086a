package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineOutputsTest {
    @TempDir
    Path dir;

    @Test
    void readsBackSplitsWithTheirSourcesAndTheQuarantine() throws IOException {
        Path in = dir.resolve("in.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            lines.add(i == 7 ? "{broken" : "{\"text\":\"record " + i + "\",\"label\":\"l" + (i % 2) + "\"}");
        }
        Files.write(in, lines);
        Path out = dir.resolve("out");
        PipelineReport report = Pipeline.builder().read(Formats.jsonl(in)).split(SplitSpec.defaults().seed(4))
                .write(out).run();
        PipelineOutputs outputs = PipelineOutputs.open(out);
        assertEquals(List.of("train", "validation", "test"), outputs.splits());
        assertEquals(report.outputs(), outputs.manifest().outputs());
        long total = 0;
        for (String split : outputs.splits()) {
            List<Record> records = outputs.records(split);
            for (Record r : records) {
                int i = Integer.parseInt(r.string("text").substring("record ".length()));
                assertEquals("in.jsonl:" + (i + 1), r.id(), "the original source, not the split file's line");
            }
            total += records.size();
        }
        assertEquals(49, total);
        List<BadLine> bad = outputs.quarantine();
        assertEquals(1, bad.size());
        assertEquals(8, bad.getFirst().line());
        assertEquals("invalid JSON", bad.getFirst().kind());
    }

    @Test
    void refusesAnEditedSplitAndAFolderWithoutManifest() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
        Path out = dir.resolve("out");
        Pipeline.builder().read(Formats.jsonl(in)).write(out).run();
        PipelineOutputs outputs = PipelineOutputs.open(out);
        assertEquals(2, outputs.records("data").size());
        Files.writeString(out.resolve("data.jsonl"), "{\"text\":\"c\"}\n", StandardOpenOption.APPEND);
        IOException e = assertThrows(IOException.class, () -> outputs.records("data"));
        assertTrue(e.getMessage().contains("is not the file the pipeline wrote"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> outputs.records("train"));
        assertThrows(IOException.class, () -> PipelineOutputs.open(dir));
    }
}
