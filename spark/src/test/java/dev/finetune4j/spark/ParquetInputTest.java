package dev.finetune4j.spark;

import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pipeline.InputReport;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.data.split.SplitSpec;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Parquet file holding the same records as a JSONL file gives, on Spark, the same splits, quarantine and counts
 * as that JSONL on the single-machine pipeline; bad rows are quarantined with the file, the row and the reason.
 */
class ParquetInputTest {
    private static final SplitSpec SPLIT = SplitSpec.ratio(0.8, 0.1, 0.1).seed(5);
    @TempDir
    Path dir;

    /** Rows of (text, label): records, exact duplicates, PII, Chinese, missing and blank texts. */
    private static List<String[]> rows() {
        List<String[]> rows = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            String text = i % 10 == 3 ? "the same complaint about a late parcel, again"
                    : i % 17 == 0 ? "write to customer" + i + "@example.com about the refund of order " + i
                    : i % 13 == 0 ? "订单" + i + "的退款还没有到账，请尽快处理这个问题，谢谢"
                    : "ticket " + i + ": the printer on floor " + (i % 7) + " jams on every second page";
            rows.add(new String[] {i % 29 == 5 ? null : i % 31 == 7 ? "   " : text, i % 2 == 0 ? "a" : "b"});
        }
        return rows;
    }

    private static String jsonLine(String[] row) {
        return row[0] == null ? "{\"label\":\"" + row[1] + "\"}"
                : "{\"text\":\"" + row[0] + "\",\"label\":\"" + row[1] + "\"}";
    }

    private static List<Step> steps() {
        return List.of(TextCleaner.defaults(), new QualityFilter(QualityConfig.defaults().withChars(20, 20_000)),
                new PiiStep(PiiRedactor.defaults()), new ExactDedup());
    }

    /** Writes {@code rows} under {@code schema} as one Parquet file named {@code name} in {@code dir}. */
    private static Path writeParquet(Path dir, String name, StructType schema, List<Row> rows) throws IOException {
        SparkSession spark = SharedSpark.get();
        Path folder = dir.resolve(name + ".parts");
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(folder.toString());
        try (Stream<Path> parts = Files.list(folder)) {
            Path part = parts.filter(p -> p.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
            return Files.move(part, dir.resolve(name));
        }
    }

    private static StructType schema(DataType text) {
        return new StructType().add("text", text, true).add("label", DataTypes.StringType, false);
    }

    @Test
    void parquetRowsBecomeTheRecordsAndQuarantineOfTheSameJsonlLines() throws IOException {
        List<String[]> rows = rows();
        Path jsonl = Files.write(dir.resolve("tickets.jsonl"), rows.stream().map(ParquetInputTest::jsonLine).toList());
        Path parquet = writeParquet(dir, "tickets.parquet", schema(DataTypes.StringType),
                rows.stream().map(r -> RowFactory.create(r[0], r[1])).toList());
        // NOTE: a text column of numbers is the wrong type: every row of this file is quarantined, as in JSONL
        Path numbersJsonl = Files.write(dir.resolve("numbers.jsonl"),
                List.of("{\"text\":1,\"label\":\"a\"}", "{\"text\":2,\"label\":\"b\"}"));
        Path numbers = writeParquet(dir, "numbers.parquet", schema(DataTypes.LongType),
                List.of(RowFactory.create(1L, "a"), RowFactory.create(2L, "b")));

        Pipeline.Builder single = Pipeline.builder().write(dir.resolve("single")).split(SPLIT)
                .read(Formats.jsonl(jsonl)).read(Formats.jsonl(numbersJsonl));
        steps().forEach(single::step);
        PipelineReport expected = single.run();
        SparkPipeline.Builder spark = SparkPipeline.builder(SharedSpark.get()).write(dir.resolve("spark").toString())
                .split(SPLIT).partitions(3)
                .read(SparkInput.parquet(parquet.toString())).read(SparkInput.parquet(numbers.toString()));
        steps().forEach(spark::step);
        PipelineReport actual = spark.run();

        // NOTE: 4 rows without text and the 2 numbers are quarantined; blank texts are records (as in JSONL) that
        // the quality filter drops
        assertTrue(expected.quarantined() == 4 + 2 && expected.step("quality").dropped() == 4
                        && expected.step("exact-dedup").dropped() > 0,
                "the rows must exercise quarantine and dedup: " + expected);
        assertEquals(expected.inputs().stream().map(i -> List.of(i.records(), i.quarantined())).toList(),
                actual.inputs().stream().map(i -> List.of(i.records(), i.quarantined())).toList());
        assertEquals(List.of("tickets.parquet", "numbers.parquet"), actual.inputs().stream().map(InputReport::file)
                .toList());
        assertEquals(expected.steps(), actual.steps());
        assertEquals(expected.quarantinedByKind(), actual.quarantinedByKind());
        for (String split : List.of("train", "validation", "test", "quarantine")) {
            assertEquals(asJsonl(EnginesAgreeTest.lines(dir.resolve("single").resolve(split + ".jsonl"))),
                    asJsonl(EnginesAgreeTest.lines(dir.resolve("spark").resolve(split))), split);
        }
    }

    @Test
    void aQuarantinedRowNamesTheFileItsRowNumberAndTheReason() throws IOException {
        Path parquet = writeParquet(dir, "one.parquet", schema(DataTypes.StringType), List.of(
                RowFactory.create("a first ticket about a broken printer", "a"),
                RowFactory.create(null, "b")));
        SparkPipeline.builder(SharedSpark.get()).write(dir.resolve("out").toString()).split(SPLIT)
                .read(SparkInput.parquet(parquet.toString())).run();
        Set<String> quarantine = EnginesAgreeTest.lines(dir.resolve("out").resolve("quarantine"));
        assertEquals(1, quarantine.size());
        String entry = quarantine.iterator().next();
        assertTrue(entry.contains("\"file\":\"one.parquet\"") && entry.contains("\"line\":2")
                && entry.contains("no known schema"), entry);
    }

    @Test
    void aSchemaGivenToTheInputChecksEveryRow() throws IOException {
        StructType columns = new StructType().add("instruction", DataTypes.StringType, true)
                .add("output", DataTypes.StringType, true).add("text", DataTypes.StringType, true);
        Path parquet = writeParquet(dir, "mixed.parquet", columns, List.of(
                RowFactory.create("how do I reset my password?", "Tap Forgot Password.", null),
                RowFactory.create(null, null, "a plain text record about a broken printer")));
        PipelineReport detected = SparkPipeline.builder(SharedSpark.get()).write(dir.resolve("detected").toString())
                .read(SparkInput.parquet(parquet.toString())).run();
        PipelineReport alpaca = SparkPipeline.builder(SharedSpark.get()).write(dir.resolve("alpaca").toString())
                .read(SparkInput.parquet(parquet.toString()).schema(Schema.ALPACA)).run();
        assertEquals(List.of(2L, 0L), List.of(detected.inputs().getFirst().records(), detected.quarantined()));
        assertEquals(List.of(1L, 1L), List.of(alpaca.inputs().getFirst().records(), alpaca.quarantined()));
        String entry = EnginesAgreeTest.lines(dir.resolve("alpaca").resolve("quarantine")).iterator().next();
        assertTrue(entry.contains("\"line\":2") && entry.contains("schema ALPACA"), entry);
    }

    @Test
    void aFolderOfPartFilesIsRefusedWithWhatToDo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkPipeline.builder(SharedSpark.get()).write(dir.resolve("out").toString()).split(SPLIT)
                        .read(SparkInput.parquet(dir.toString())).run());
        assertTrue(e.getMessage().contains("each part file"), e.getMessage());
    }

    /** The lines with the Parquet files' names as the JSONL files' (ids and quarantine entries name the file). */
    private static Set<String> asJsonl(Set<String> lines) {
        return lines.stream().map(l -> l.replace(".parquet", ".jsonl")).collect(Collectors.toSet());
    }
}
