package dev.finetune4j.samples.cli;

import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.spark.SparkInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrepareCommandTest {
    @TempDir
    Path dir;

    @Test
    void cleansRedactsDeduplicatesSplitsAndQuarantines() throws Exception {
        Files.write(dir.resolve("raw.jsonl"), List.of(
                "{\"instruction\": \"<p>My email is a.b@example.com, how do I reset my password?</p>\", \"output\": \"Tap Forgot Password.\"}",
                "{\"instruction\": \"<p>My email is a.b@example.com, how do I reset my password?</p>\", \"output\": \"Tap Forgot Password.\"}",
                "{\"instruction\": \"我的手机号13812345678，怎么开户？\", \"output\": \"请携带身份证到网点办理。\"}",
                "{\"instruction\": \"What is the annual fee of the Gold card?\", \"output\": \"200 yuan a year.\"}",
                "{\"instruction\": \"truncated"));
        Files.writeString(dir.resolve("prepare.yaml"), """
                inputs: [raw.jsonl]
                schema: alpaca
                output: out
                pii: {strategy: placeholder}
                exact_dedup: true
                split: {train: 0.8, validation: 0.1, test: 0.1}
                """);
        CliTestSupport.Run r = CliTestSupport.run("prepare", "--config", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertTrue(r.out().contains("exact-dedup"), r.out());
        Path out = dir.resolve("out");
        assertTrue(Files.exists(out.resolve("manifest.json")));
        assertTrue(Files.readString(out.resolve("quarantine.jsonl")).contains("invalid JSON"));
        String all = Files.readString(out.resolve("train.jsonl")) + Files.readString(out.resolve("validation.jsonl"))
                + Files.readString(out.resolve("test.jsonl"));
        assertTrue(all.contains("[EMAIL]") && all.contains("[PHONE]") && !all.contains("<p>"), all);
        assertEquals(3, all.lines().count(), "the duplicate is dropped, the bad line quarantined");
    }

    /**
     * A run without a split into the folder of a run with one: refused without --overwrite, and with it the earlier
     * train/validation/test files go, so that train cannot pick up stale splits beside the new data.jsonl.
     */
    @Test
    void anEarlierRunsFolderNeedsOverwriteWhichRemovesItsStaleSplits() throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            rows.append("{\"instruction\": \"question ").append(i).append("\", \"output\": \"answer\"}\n");
        }
        Files.writeString(dir.resolve("raw.jsonl"), rows);
        Path split = Files.writeString(dir.resolve("split.yaml"), "inputs: [raw.jsonl]\noutput: out\nsplit: {}\n");
        Path whole = Files.writeString(dir.resolve("whole.yaml"), "inputs: [raw.jsonl]\noutput: out\n");
        assertEquals(ExitCodes.OK, CliTestSupport.run("prepare", "-c", split.toString()).exitCode());

        CliTestSupport.Run again = CliTestSupport.run("prepare", "-c", whole.toString());
        assertEquals(ExitCodes.BAD_INPUT, again.exitCode(), again.err());
        assertTrue(again.err().contains(dir.resolve("out") + " already exists") && again.err().contains("--overwrite"),
                again.err());
        assertFalse(Files.exists(dir.resolve("out/data.jsonl")), "nothing is written");

        CliTestSupport.Run replaced = CliTestSupport.run("prepare", "--overwrite", "-c", whole.toString());
        assertEquals(ExitCodes.OK, replaced.exitCode(), replaced.err());
        try (var files = Files.list(dir.resolve("out"))) {
            assertEquals(List.of("data.jsonl", "manifest.json"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void anOutputThatIsAFileIsBadInput() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello\"}\n");
        Files.writeString(dir.resolve("out"), "a file");
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "--overwrite", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains(dir.resolve("out") + " is a file, not a folder"), r.err());
    }

    @Test
    void unknownKeyIsBadInputThatNamesTheKeyAndTheAcceptedOnes() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello\"}\n");
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\nexact_dedupe: true\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("unknown key 'exact_dedupe'") && r.err().contains("exact_dedup"), r.err());
    }

    @Test
    void parquetInputWithoutSparkMasterIsBadInputThatNamesTheFileAndWhatToDo() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello\"}\n");
        Files.write(dir.resolve("tickets.parquet"), new byte[] {'P', 'A', 'R', '1'});
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl, tickets.parquet]\noutput: out\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains(dir.resolve("tickets.parquet").toString()) && r.err().contains("'inputs'")
                && r.err().contains("--spark-master") && r.err().contains("convert"), r.err());
        assertFalse(Files.exists(dir.resolve("out")), "nothing is read or written");
    }

    @Test
    void parquetInputsGoToSparkAsParquetInOrderWithTheConfigsSchema() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"instruction\": \"hi\", \"output\": \"hello\"}\n");
        Files.write(dir.resolve("Tickets.PARQUET"), new byte[] {'P', 'A', 'R', '1'});
        PrepareConfig cfg = ConfigFiles.read(Files.writeString(dir.resolve("prepare.yaml"),
                "inputs: [Tickets.PARQUET, raw.jsonl]\nschema: alpaca\noutput: out\n"), PrepareConfig.class);
        List<SparkInput> inputs = SparkPrepare.inputs(PreparePipeline.plan(cfg, dir, null));
        assertEquals(List.of(
                        SparkInput.parquet("file:" + dir.resolve("Tickets.PARQUET")).schema(Schema.ALPACA),
                        SparkInput.of(Formats.jsonl(dir.resolve("raw.jsonl")).schema(Schema.ALPACA))),
                inputs);
        assertTrue(inputs.getFirst().isParquet() && !inputs.getLast().isParquet());
    }

    @Test
    void inputOfUnknownFormatIsBadInput() throws Exception {
        Files.writeString(dir.resolve("raw.txt"), "hello\n");
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.txt]\noutput: out\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains("raw.txt") && r.err().contains("'inputs'"), r.err());
    }

    @Test
    void missingInputFileIsBadInput() throws Exception {
        Files.writeString(dir.resolve("prepare.json"), "{\"inputs\": [\"nope.jsonl\"], \"output\": \"out\"}");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.json").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("nope.jsonl") && r.err().contains("does not exist"), r.err());
    }

    /** A folder passed where a file belongs is named as a folder, not as missing (config file and inputs alike). */
    @Test
    void aFolderWhereAFileBelongsIsNamedAsAFolder() throws Exception {
        Files.createDirectories(dir.resolve("raw.jsonl"));
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\n");
        CliTestSupport.Run input = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, input.exitCode());
        assertTrue(input.err().contains("input file " + dir.resolve("raw.jsonl") + " is a folder, not a file"), input.err());
        CliTestSupport.Run config = CliTestSupport.run("prepare", "-c", dir.resolve("raw.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, config.exitCode());
        assertTrue(config.err().contains("config file " + dir.resolve("raw.jsonl") + " is a folder, not a file"), config.err());
        CliTestSupport.Run predictions = CliTestSupport.run("eval", "-p", dir.resolve("raw.jsonl").toString());
        assertEquals(ExitCodes.BAD_INPUT, predictions.exitCode());
        assertTrue(predictions.err().contains("data file " + dir.resolve("raw.jsonl") + " is a folder, not a file"),
                predictions.err());
    }

    /** Inputs that give no record (an empty file, or CSV lines in a .jsonl file) are the user's to fix: exit 2. */
    @Test
    void inputsThatGiveNoRecordAreBadInput() throws Exception {
        Files.writeString(dir.resolve("empty.jsonl"), "");
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [empty.jsonl]\nschema: alpaca\noutput: out\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().startsWith("error: no records to write: empty.jsonl gave 0 records"), r.err());
    }

    /** A key given twice kept the last value silently; an empty or comment-only file got Jackson's end-of-input text. */
    @Test
    void aKeyGivenTwiceOrAnEmptyConfigIsBadInputSayingSo() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello there, this is text\"}\n");
        Files.writeString(dir.resolve("twice.yaml"), "inputs: [raw.jsonl]\noutput: out\nsplit: {train: 0.9, test: 0.1}\n"
                + "output: elsewhere\n");
        CliTestSupport.Run twice = CliTestSupport.run("prepare", "-c", dir.resolve("twice.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, twice.exitCode(), twice.out());
        assertTrue(twice.err().contains("(line 4)") && twice.err().contains("Duplicate field 'output'"), twice.err());
        Files.writeString(dir.resolve("empty.yaml"), "# to do\n");
        CliTestSupport.Run empty = CliTestSupport.run("prepare", "-c", dir.resolve("empty.yaml").toString());
        assertEquals(ExitCodes.BAD_INPUT, empty.exitCode());
        assertTrue(empty.err().contains("empty.yaml is empty"), empty.err());
    }

    /** {train: 0.5, test: 0.5} was refused as summing to 1.1: the left-out validation ratio was 0.1, not the rest. */
    @Test
    void splitRatiosLeftOutShareTheRest() throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            rows.append("{\"text\": \"record number ").append(i).append(" of the split test, with some words\"}\n");
        }
        Files.writeString(dir.resolve("raw.jsonl"), rows);
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\nsplit: {train: 0.5, test: 0.5}\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertEquals(0, Files.readAllLines(dir.resolve("out/validation.jsonl")).size());
        assertEquals(40, Files.readAllLines(dir.resolve("out/train.jsonl")).size()
                + Files.readAllLines(dir.resolve("out/test.jsonl")).size());
    }

    /** inputs: raw.jsonl (one file, no brackets) got Jackson's "Cannot construct instance of java.util.ArrayList". */
    @Test
    void aSingleInputNeedsNoList() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello there, this is text\"}\n");
        Files.writeString(dir.resolve("prepare.yaml"), "inputs: raw.jsonl\noutput: out\n");
        CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", dir.resolve("prepare.yaml").toString());
        assertEquals(ExitCodes.OK, r.exitCode(), r.err());
        assertEquals(1, Files.readAllLines(dir.resolve("out/data.jsonl")).size());
    }

    /**
     * A value a data-module record refuses (QualityConfig, NearDedupConfig, SplitSpec name their Java components:
     * minChars, numPerm) is bad input naming the step's section and the key as the file writes it, before any output.
     */
    @Test
    void aRefusedStepSettingNamesItsSectionAndTheKeyAsTheFileWritesIt() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello there, this is text\"}\n");
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("quality: {min_chars: 50, max_chars: 10}",
                "invalid 'quality' settings: need 0 <= quality.min_chars <= quality.max_chars, found 50, 10");
        expected.put("quality: {min_chars: -1}",
                "invalid 'quality' settings: need 0 <= quality.min_chars <= quality.max_chars, found -1, 100000");
        expected.put("near_dedup: {num_perm: 0}",
                "invalid 'near_dedup' settings: near_dedup.num_perm must lie in 1..8192, found 0; 128 (the default) to 512"
                        + " is usual, more permutations only sharpen the similarity estimate");
        expected.put("near_dedup: {threshold: 1.5}",
                "invalid 'near_dedup' settings: threshold must lie in (0, 1), found 1.5");
        expected.put("split: {train: -0.5, validation: 0.75, test: 0.75}",
                "invalid 'split' settings: split ratios must be >= 0, found train=-0.5 validation=0.75 test=0.75");
        expected.put("pii: {strategy: shred}", "'pii.strategy' is 'shred'; use placeholder, mask or hash");
        for (Map.Entry<String, String> c : expected.entrySet()) {
            Path cfg = Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\n" + c.getKey() + "\n");
            CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", cfg.toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), c.getKey() + ": " + r.err());
            assertEquals("error: " + c.getValue(), r.err().strip(), c.getKey());
            assertFalse(Files.exists(dir.resolve("out")), c.getKey() + ": the output folder was made");
        }
    }

    /** A split by a field that a record lacks failed with exit code 1 and "choose another field in SplitSpec". */
    @Test
    void aSplitFieldThatARecordLacksIsBadInputNamingTheKey() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello there, this is text\", \"topic\": \"a\"}\n"
                + "{\"text\": \"another record with words\"}\n");
        for (String key : List.of("stratify_by", "group_by")) {
            Path cfg = Files.writeString(dir.resolve("prepare.yaml"),
                    "inputs: [raw.jsonl]\noutput: out-" + key + "\nsplit: {" + key + ": topic}\n");
            CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", cfg.toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r.err());
            assertEquals("error: 'split." + key + "' is 'topic', but record raw.jsonl:2 has no field 'topic', which the "
                    + "split needs; add it to every record or split by another field", r.err().strip());
        }
    }

    /** Jackson's words ("Cannot coerce Floating-point value (5.5) to `java.lang.Integer` value ...") named Java types. */
    @Test
    void aValueOfTheWrongKindNamesItsKeyLineAndWhatKindIsExpected() throws Exception {
        Files.writeString(dir.resolve("raw.jsonl"), "{\"text\": \"hello there, this is text\"}\n");
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("quality: {min_chars: 5.5}", "(line 3) at 'quality.min_chars': expected a whole number");
        expected.put("split: {train: most}", "(line 3) at 'split.train': expected a number");
        expected.put("exact_dedup: maybe", "(line 3) at 'exact_dedup': expected true or false");
        expected.put("near_dedup: 0.8", "(line 3) at 'near_dedup': expected a section of keys, e.g. {key: value}");
        for (Map.Entry<String, String> c : expected.entrySet()) {
            Path cfg = Files.writeString(dir.resolve("prepare.yaml"), "inputs: [raw.jsonl]\noutput: out\n" + c.getKey() + "\n");
            CliTestSupport.Run r = CliTestSupport.run("prepare", "-c", cfg.toString());
            assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), c.getKey() + ": " + r.err());
            assertEquals("error: invalid value in " + cfg + " " + c.getValue(), r.err().strip(), c.getKey());
        }
    }
}
