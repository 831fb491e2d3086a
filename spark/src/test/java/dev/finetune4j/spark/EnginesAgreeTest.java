package dev.finetune4j.spark;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.WrittenFile;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acceptance test of the Spark engine: on a dirty corpus, Spark with 1, 3 and 8 partitions and the
 * single-machine pipeline write the same records into the same splits, the same quarantine, and the same
 * manifest counts.
 */
class EnginesAgreeTest {
    private static final SplitSpec STRATIFIED = SplitSpec.ratio(0.8, 0.1, 0.1).seed(7).stratifyBy("label");
    @TempDir
    static Path dir;
    static List<Path> corpus;
    static PipelineReport stratified;

    @BeforeAll
    static void writeCorpusAndRunTheSingleMachinePipeline() throws IOException {
        corpus = DirtyCorpus.write(dir.resolve("in"), 3000, 300, 11);
        stratified = single(dir.resolve("single-stratified"), STRATIFIED);
    }

    private static List<Step> steps() {
        return List.of(TextCleaner.defaults(),
                new QualityFilter(QualityConfig.defaults().withChars(20, 20_000)),
                new PiiStep(PiiRedactor.defaults()),
                new ExactDedup(),
                new NearDedup(NearDedupConfig.defaults()));
    }

    private static PipelineReport single(Path out, SplitSpec split) throws IOException {
        Pipeline.Builder b = Pipeline.builder().write(out).split(split);
        corpus.forEach(p -> b.read(Formats.of(p)));
        steps().forEach(b::step);
        return b.run();
    }

    private static PipelineReport spark(Path out, SplitSpec split, int partitions, long maxDriverEdges)
            throws IOException {
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get()).write(out.toString()).split(split)
                .partitions(partitions).maxDriverEdges(maxDriverEdges);
        corpus.forEach(p -> b.read(Formats.of(p)));
        steps().forEach(b::step);
        return b.run();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void stratifiedSplitIsTheSameOnBothEngines(int partitions) throws IOException {
        Path many = dir.resolve("spark-" + partitions);
        PipelineReport actual = spark(many, STRATIFIED, partitions, 4_000_000);
        assertSameCounts(stratified, actual);
        assertSameRun(dir.resolve("single-stratified"), stratified, many, actual);
    }

    @Test
    void groupedSplitIsTheSameOnBothEnginesWithDistributedComponents() throws IOException {
        SplitSpec split = SplitSpec.ratio(0.8, 0.1, 0.1).seed(3).groupBy("user");
        Path one = dir.resolve("single-grouped");
        Path many = dir.resolve("spark-grouped");
        PipelineReport expected = single(one, split);
        PipelineReport actual = spark(many, split, 3, 0);
        assertSameCounts(expected, actual);
        assertSameRun(one, expected, many, actual);
    }

    private static void assertSameCounts(PipelineReport expected, PipelineReport actual) {
        assertEquals(expected.inputs(), actual.inputs());
        assertEquals(expected.quarantined(), actual.quarantined());
        assertEquals(expected.quarantinedByKind(), actual.quarantinedByKind());
        assertEquals(expected.steps(), actual.steps());
        assertEquals(expected.outputs().stream().map(WrittenFile::records).toList(),
                actual.outputs().stream().map(WrittenFile::records).toList());
        assertEquals(expected.outputs().stream().map(WrittenFile::bytes).toList(),
                actual.outputs().stream().map(WrittenFile::bytes).toList());
    }

    private static void assertSameRun(Path single, PipelineReport report, Path spark, PipelineReport sparkReport)
            throws IOException {
        assertTrue(report.quarantined() > 0 && report.step("near-dedup").dropped() > 300
                        && report.step("exact-dedup").dropped() > 0 && report.step("quality").dropped() > 0,
                "the corpus must exercise every step: " + report.steps());
        for (String split : List.of("train", "validation", "test")) {
            Set<String> expected = lines(single.resolve(split + ".jsonl"));
            assertEquals(expected, lines(spark.resolve(split)), split);
        }
        assertEquals(lines(single.resolve("quarantine.jsonl")), lines(spark.resolve("quarantine")), "quarantine");
        assertEquals(report.written(), sparkReport.written());
    }

    /** The lines of a file, or of every part file of a Spark output folder. */
    static Set<String> lines(Path fileOrFolder) throws IOException {
        Set<String> out = new HashSet<>();
        List<Path> files;
        if (Files.isDirectory(fileOrFolder)) {
            try (Stream<Path> s = Files.list(fileOrFolder)) {
                files = s.filter(p -> !p.getFileName().toString().startsWith("_")
                        && !p.getFileName().toString().startsWith(".")).toList();
            }
        } else {
            files = List.of(fileOrFolder);
        }
        long count = 0;
        for (Path f : files) {
            List<String> all = Files.readAllLines(f);
            count += all.size();
            out.addAll(all);
        }
        assertEquals(count, out.size(), "an output line appears twice in " + fileOrFolder);
        return out;
    }
}
