package dev.finetune4j.spark;

import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.preference.FeedbackLog;
import dev.finetune4j.data.preference.PreferenceBuilder;
import dev.finetune4j.data.preference.PreferenceExport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Preference pairs built on Spark with 1 and 3 partitions are the single-machine pairs, line for line (numbering
 * included), with the same quarantine and statistics.
 */
class SparkPreferencesTest {
    @TempDir
    static Path dir;
    static List<Path> logs;

    @BeforeAll
    static void writeLogs() throws IOException {
        logs = List.of(writeLog(dir.resolve("day1.jsonl"), 1), writeLog(dir.resolve("day2.jsonl"), 2));
    }

    /**
     * Votes (repeated by the same rater, some at the same instant so that log order decides), pick-the-best
     * sessions over the same responses, and bad lines of every kind, over 40 prompts.
     */
    private static Path writeLog(Path file, long seed) throws IOException {
        Random rnd = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 1500; i++) {
            String prompt = "how do I reset device " + rnd.nextInt(40) + "?";
            String rater = "r" + rnd.nextInt(6);
            switch (rnd.nextInt(12)) {
                case 0 -> lines.add("{\"prompt\": \"" + prompt + "\", \"vote\": \"sideways\", \"response\": \"x\","
                        + " \"rater\": \"" + rater + "\", \"time\": \"2025-01-01T00:00:00Z\"}");
                case 1 -> lines.add("{not json");
                case 2, 3, 4 -> lines.add("{\"prompt\": \"" + prompt + "\", \"candidates\": [\"answer "
                        + rnd.nextInt(4) + "\", \"answer " + rnd.nextInt(4) + "\", \"answer " + rnd.nextInt(4)
                        + "\"], \"chosen\": " + rnd.nextInt(3) + ", \"rater\": \"" + rater + "\"}");
                default -> lines.add("{\"prompt\": \"" + prompt + "\", \"response\": \"answer " + rnd.nextInt(4)
                        + "\", \"vote\": \"" + (rnd.nextBoolean() ? "up" : "down") + "\", \"rater\": \"" + rater
                        + "\", \"time\": \"2025-01-0" + (1 + rnd.nextInt(3)) + "T00:00:00Z\"}");
            }
        }
        return Files.write(file, lines);
    }

    @ParameterizedTest
    @CsvSource({"1, TRL", "3, TRL", "3, MESSAGES"})
    void pairsAreTheSingleMachinePairsWhateverThePartitioning(int partitions, PreferenceExport.Shape shape)
            throws IOException {
        PreferenceBuilder single = new PreferenceBuilder(2);
        Set<String> quarantine = new HashSet<>();
        for (Path log : logs) {
            FeedbackLog.Loaded loaded = FeedbackLog.read(log);
            single.add(loaded.events());
            loaded.quarantined().forEach(b -> quarantine.add(Json.write(b)));
        }
        PreferenceBuilder.Result expected = single.build();
        Path file = dir.resolve("single-" + partitions + shape + ".jsonl");
        PreferenceExport.write(expected.pairs(), file, shape);

        Path out = dir.resolve("spark-" + partitions + shape);
        SparkPreferences.Report report = SparkPreferences.write(SharedSpark.get(),
                logs.stream().map(Path::toString).toList(), 2, shape, out.toString(), partitions);

        assertTrue(expected.overall().pairs() > 50 && expected.overall().ties() > 0
                        && expected.overall().belowMargin() > 0 && quarantine.size() > 100,
                "the logs must exercise every outcome: " + expected.overall());
        assertEquals(expected.overall(), report.overall());
        assertEquals(quarantine.size(), report.quarantined());
        assertEquals(EnginesAgreeTest.lines(file), EnginesAgreeTest.lines(out.resolve("pairs")));
        assertEquals(quarantine, EnginesAgreeTest.lines(out.resolve("quarantine")));
    }

    @Test
    void aSecondRunIntoTheSameFolderReplacesTheFirstsOutputs() throws IOException {
        Path out = dir.resolve("twice");
        SparkPreferences.write(SharedSpark.get(), List.of(logs.get(0).toString()), 2, PreferenceExport.Shape.TRL,
                out.toString(), 2);
        SparkPreferences.Report second = SparkPreferences.write(SharedSpark.get(), List.of(logs.get(1).toString()), 2,
                PreferenceExport.Shape.TRL, out.toString(), 2);
        FeedbackLog.Loaded loaded = FeedbackLog.read(logs.get(1));
        PreferenceBuilder.Result expected = new PreferenceBuilder(2).add(loaded.events()).build();
        Path file = dir.resolve("single-second.jsonl");
        PreferenceExport.write(expected.pairs(), file, PreferenceExport.Shape.TRL);
        assertEquals(expected.overall(), second.overall());
        assertEquals(EnginesAgreeTest.lines(file), EnginesAgreeTest.lines(out.resolve("pairs")));
        assertEquals(loaded.quarantined().stream().map(Json::write).collect(Collectors.toSet()),
                EnginesAgreeTest.lines(out.resolve("quarantine")));
    }
}
