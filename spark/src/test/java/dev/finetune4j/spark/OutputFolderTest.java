package dev.finetune4j.spark;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pipeline.EmptyDatasetException;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.split.SplitSpec;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Spark run into a folder that already holds outputs leaves it as the single-machine pipeline would: the new
 * outputs and nothing else after a run, the earlier outputs untouched after a failed one, never a removed input.
 */
class OutputFolderTest {
    private static final SplitSpec SPLIT = SplitSpec.ratio(0.5, 0.25, 0.25).seed(1);
    private static final String TICKETS = "{\"text\":\"the printer on floor two jams on every page\",\"label\":\"a\"}\n"
            + "{\"text\":\"the badge reader at the north door is broken\",\"label\":\"b\"}\n"
            + "{\"text\":\"the coffee machine leaks water on the floor\",\"label\":\"a\"}\n"
            + "{\"text\":\"my laptop does not wake up from sleep\",\"label\":\"b\"}\n";
    @TempDir
    Path dir;

    private PipelineReport spark(Path in, SplitSpec split, Path out) throws IOException {
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get()).read(Formats.jsonl(in))
                .write(out.toString());
        return (split == null ? b : b.split(split)).run();
    }

    private static PipelineReport single(Path in, SplitSpec split, Path out) throws IOException {
        Pipeline.Builder b = Pipeline.builder().read(Formats.jsonl(in)).write(out);
        return (split == null ? b : b.split(split)).run();
    }

    /** The visible entries of a folder, without the single-machine files' extension. */
    private static Set<String> entries(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".") && !n.startsWith("_"))
                    .map(n -> n.endsWith(".jsonl") ? n.substring(0, n.length() - ".jsonl".length()) : n)
                    .collect(Collectors.toSet());
        }
    }

    @Test
    void aRunRemovesTheEarlierRunsOutputsItDoesNotWrite() throws IOException {
        Path first = Files.writeString(dir.resolve("first.jsonl"), TICKETS + "not json\n");
        Path second = Files.writeString(dir.resolve("second.jsonl"), TICKETS);
        single(first, SPLIT, dir.resolve("single"));
        single(second, null, dir.resolve("single"));
        spark(first, SPLIT, dir.resolve("spark"));
        spark(second, null, dir.resolve("spark"));
        assertEquals(entries(dir.resolve("single")), entries(dir.resolve("spark")));
    }

    @Test
    void aSparkRunRemovesASingleMachineRunsOutputs() throws IOException {
        Path in = Files.writeString(dir.resolve("tickets.jsonl"), TICKETS + "not json\n");
        single(in, SPLIT, dir.resolve("out"));
        spark(in, null, dir.resolve("out"));
        assertEquals(Set.of("data", "quarantine", "manifest.json"), entries(dir.resolve("out")));
        assertTrue(Files.isDirectory(dir.resolve("out/data")) && Files.isDirectory(dir.resolve("out/quarantine")));
    }

    @Test
    void aRunWithNothingToWriteLeavesTheEarlierOutputs() throws IOException {
        Path in = Files.writeString(dir.resolve("tickets.jsonl"), TICKETS);
        Path out = dir.resolve("out");
        spark(in, SPLIT, out);
        String manifest = Files.readString(out.resolve("manifest.json"));
        Set<String> train = EnginesAgreeTest.lines(out.resolve("train"));
        assertThrows(EmptyDatasetException.class, () -> SparkPipeline.builder(SharedSpark.get())
                .read(Formats.jsonl(in)).step(new QualityFilter(QualityConfig.defaults().withChars(1000, 2000)))
                .split(SPLIT).write(out.toString()).run());
        assertEquals(manifest, Files.readString(out.resolve("manifest.json")));
        assertEquals(train, EnginesAgreeTest.lines(out.resolve("train")));
    }

    @Test
    void aRunThatFailsLeavesTheEarlierOutputs() throws IOException {
        Path out = dir.resolve("out");
        spark(Files.writeString(dir.resolve("first.jsonl"), TICKETS + "not json\n"), SPLIT, out);
        Set<String> quarantine = EnginesAgreeTest.lines(out.resolve("quarantine"));
        // NOTE: a record without the label fails the stratified split, after the bad line was quarantined
        Path second = Files.writeString(dir.resolve("second.jsonl"), TICKETS + "{\"text\":\"no label here at all\"}\n"
                + "{also not json\n");
        SparkException e = assertThrows(SparkException.class,
                () -> spark(second, SPLIT.stratifyBy("label"), out));
        assertTrue(e.getMessage().contains("has no field 'label'"), e.getMessage());
        assertEquals(quarantine, EnginesAgreeTest.lines(out.resolve("quarantine")));
    }

    @Test
    void anInputInAFolderTheRunReplacesIsRefusedBeforeAnyJob() throws IOException {
        Path out = dir.resolve("out");
        spark(Files.writeString(dir.resolve("tickets.jsonl"), TICKETS), null, out);
        Path part;
        try (Stream<Path> s = Files.list(out.resolve("data"))) {
            part = s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        String content = Files.readString(part);
        IllegalArgumentException e = SharedSpark.refusedBeforeAnyJob(IllegalArgumentException.class,
                () -> SparkPipeline.builder(SharedSpark.get()).read(Formats.jsonl(part)).split(SPLIT)
                        .write(out.toString()).run());
        assertTrue(e.getMessage().contains(part.getFileName().toString()) && e.getMessage().contains("replaces"),
                e.getMessage());
        assertEquals(content, Files.readString(part));
    }

    @Test
    void anOutputFolderThatIsAFileIsRefusedBeforeAnyJob() throws IOException {
        Path in = Files.writeString(dir.resolve("tickets.jsonl"), TICKETS + "not json\n");
        Path file = Files.writeString(dir.resolve("out"), "not a folder");
        IOException e = SharedSpark.refusedBeforeAnyJob(IOException.class, () -> spark(in, SPLIT, file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("is a file"), e.getMessage());
    }
}
