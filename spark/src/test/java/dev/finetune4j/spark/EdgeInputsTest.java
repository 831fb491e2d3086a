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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lines that stress the reader and the record transport (lone surrogate escapes, quarantined by both, a BOM, CRLF,
 * nested values, numbers beyond a long, invalid UTF-8, blank lines, no final newline) give the same outputs,
 * quarantine and counts on both engines.
 */
class EdgeInputsTest {
    private static final SplitSpec SPLIT = SplitSpec.ratio(0.5, 0.25, 0.25).seed(3);
    @TempDir
    static Path dir;
    static Path input;
    static PipelineReport expected;

    @BeforeAll
    static void writeInputAndRunTheSingleMachinePipeline() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(String.join("\r\n", "\uFEFF{\"text\":\"nested record with fields\",\"n\":"
                                + "123456789012345678901234567890,\"f\":1e400,\"d\":0.1,\"z\":null,"
                                + "\"o\":{\"a\":[1,null,{\"b\":[]}],\"c\":{}}}",
                        "{\"text\":\"a long beyond an int\",\"i\":2147483648,\"k\":1.0E-300}", "").getBytes(
                StandardCharsets.UTF_8));
        bytes.writeBytes(String.join("\n",
                // NOTE: half a surrogate pair, escaped: no Unicode text, so both engines quarantine the line
                "{\"text\":\"这是一个很长的中文句子\\ud800！\"}",
                "{\"text\":\"这是另一个中文句子\\ud800！ 好\"}",
                "{\"text\":\"alpha beta \\udc00 gamma\"}",
                "{\"text\":\"emoji 😀😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and more words\"}",
                "",
                "   ",
                "[1,2]",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi there friend\"},"
                        + "{\"role\":\"assistant\",\"content\":\"hello back to you\"}]}",
                "").getBytes(StandardCharsets.UTF_8));
        // NOTE: 0xC3 starts a two-byte sequence that '(' does not continue: invalid UTF-8
        bytes.writeBytes(new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, '(', '"', '}', '\n'});
        bytes.writeBytes("{\"text\":\"no newline at the end\"}".getBytes(StandardCharsets.UTF_8));
        input = Files.write(dir.resolve("edge.jsonl"), bytes.toByteArray());
        Pipeline.Builder b = Pipeline.builder().read(Formats.jsonl(input)).split(SPLIT).write(dir.resolve("single"));
        steps().forEach(b::step);
        expected = b.run();
    }

    /** New step objects for each run: ExactDedup remembers the texts it saw. */
    private static List<Step> steps() {
        return List.of(TextCleaner.defaults(), new QualityFilter(QualityConfig.defaults().withChars(1, 20_000)),
                new PiiStep(PiiRedactor.defaults()), new ExactDedup(), new NearDedup(NearDedupConfig.defaults()));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void edgeLinesGiveTheSingleMachineOutputs(int partitions) throws IOException {
        assertTrue(expected.quarantinedByKind().get("invalid Unicode") == 3 && expected.quarantined() == 6
                && expected.written() == 4, "the input must exercise the reader: " + expected);
        Path out = dir.resolve("spark-" + partitions);
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get()).read(Formats.jsonl(input)).split(SPLIT)
                .partitions(partitions).write(out.toString());
        steps().forEach(b::step);
        PipelineReport actual = b.run();

        assertEquals(expected.inputs(), actual.inputs());
        assertEquals(expected.quarantinedByKind(), actual.quarantinedByKind());
        assertEquals(expected.steps(), actual.steps());
        assertEquals(expected.outputs().stream().map(WrittenFile::bytes).toList(),
                actual.outputs().stream().map(WrittenFile::bytes).toList());
        for (String split : List.of("train", "validation", "test")) {
            assertEquals(EnginesAgreeTest.lines(dir.resolve("single").resolve(split + ".jsonl")),
                    EnginesAgreeTest.lines(out.resolve(split)), split);
        }
        assertEquals(EnginesAgreeTest.lines(dir.resolve("single/quarantine.jsonl")),
                EnginesAgreeTest.lines(out.resolve("quarantine")));
    }
}
