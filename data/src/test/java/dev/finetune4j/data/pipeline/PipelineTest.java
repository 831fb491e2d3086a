package dev.finetune4j.data.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.data.clean.QualityConfig;
import dev.finetune4j.data.clean.QualityFilter;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Json;
import dev.finetune4j.data.format.Sha256;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineTest {
    @TempDir
    Path dir;

    @Test
    void endToEndWithQuarantineSplitAndManifest() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, """
                {"text":"<b>Ｈｅｌｌｏ</b> world, mail me at a@b.com"}
                {"text":"hello world, mail me at a@b.com"}
                not json
                {"text":"第二条记录：手机 13812345678。"}
                {"text": 5}
                """);
        Path out = dir.resolve("out");
        PipelineReport report = Pipeline.builder().read(Formats.jsonl(in))
                .step(TextCleaner.defaults()).step(new PiiStep(PiiRedactor.defaults())).step(new ExactDedup())
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(42)).write(out).run();
        assertEquals(2, report.quarantined());
        assertEquals(Map.of("invalid JSON", 1L, "wrong field types", 1L), report.quarantinedByKind());
        assertEquals(1, report.step("clean").changed());
        assertEquals(Map.of("EMAIL", 2L, "PHONE", 1L), report.step("pii").tallies());
        assertEquals(Map.of("exact duplicate", 1L), report.step("exact-dedup").dropReasons());
        assertEquals(2, report.written());
        assertEquals(List.of("train.jsonl", "validation.jsonl", "test.jsonl"),
                report.outputs().stream().map(f -> f.file()).toList());
        assertEquals(2, Files.readAllLines(out.resolve("quarantine.jsonl")).size());

        JsonNode manifest = Json.MAPPER.readTree(out.resolve("manifest.json").toFile());
        assertEquals(Sha256.of(in), manifest.at("/inputs/0/sha256").asText());
        assertEquals(3, manifest.at("/steps").size());
        assertEquals(42, manifest.at("/seed").asLong());
        for (JsonNode o : manifest.at("/outputs")) {
            assertEquals(Sha256.of(out.resolve(o.get("file").asText())), o.get("sha256").asText());
        }
        String all = Files.readString(out.resolve("train.jsonl")) + Files.readString(out.resolve("validation.jsonl"))
                + Files.readString(out.resolve("test.jsonl"));
        assertTrue(all.contains("\"text\":\"Hello world, mail me at [EMAIL]\""), all);
        assertTrue(all.contains("\"_meta\":{\"source\":\"in.jsonl:1\"}"), all);
        assertTrue(all.contains("in.jsonl:4"), all);
    }

    @Test
    void splitDoesNotDependOnInputOrderAndWarnsOnOddRatios() throws IOException {
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 300; i++) {
            lines.add("{\"text\":\"document number " + i + "\"}");
        }
        Path a = dir.resolve("a.jsonl");
        Files.write(a, lines);
        java.util.Collections.shuffle(lines, new java.util.Random(1));
        Path b = dir.resolve("b.jsonl");
        Files.write(b, lines);
        SplitSpec spec = SplitSpec.ratio(0.6, 0.2, 0.2).seed(7);
        PipelineReport ra = Pipeline.builder().read(Formats.jsonl(a)).split(spec).write(dir.resolve("oa")).run();
        Pipeline.builder().read(Formats.jsonl(b)).split(spec).write(dir.resolve("ob")).run();
        for (String s : List.of("train", "validation", "test")) {
            assertEquals(texts(dir.resolve("oa/" + s + ".jsonl")), texts(dir.resolve("ob/" + s + ".jsonl")), s);
        }
        assertEquals(3, ra.warnings().size());
    }

    @Test
    void stratifiedSplitKeepsLabelProportionsExactly() throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("l.jsonl"))) {
            for (int i = 0; i < 1000; i++) {
                w.write("{\"text\":\"item " + i + "\",\"label\":\"" + (i % 10 == 0 ? "rare" : "common") + "\"}\n");
            }
        }
        Path out = dir.resolve("s");
        PipelineReport r = Pipeline.builder().read(Formats.jsonl(dir.resolve("l.jsonl")))
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(3).stratifyBy("label")).write(out).run();
        assertEquals(List.of(800L, 100L, 100L), r.outputs().stream().map(f -> f.records()).toList());
        long rareInTest = Files.readAllLines(out.resolve("test.jsonl")).stream().filter(l -> l.contains("rare")).count();
        assertEquals(10, rareInTest);
    }

    @Test
    void groupsAndNearDuplicateClustersNeverStraddleSplits() throws IOException {
        SplittableRandom rnd = new SplittableRandom(5);
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("g.jsonl"))) {
            for (int i = 0; i < 200; i++) {
                StringBuilder doc = new StringBuilder();
                for (int j = 0; j < 60; j++) {
                    doc.append("t").append(rnd.nextInt(100000)).append(' ');
                }
                w.write("{\"text\":\"" + doc + "\",\"user\":\"u" + (i % 20) + "\"}\n");
                w.write("{\"text\":\"" + doc + "extra\",\"user\":\"v" + i + "\"}\n"); // near duplicate, other user
            }
        }
        Path out = dir.resolve("g");
        Pipeline.builder().read(Formats.jsonl(dir.resolve("g.jsonl")))
                .step(new NearDedup(NearDedupConfig.defaults().withMode(NearDedupConfig.Mode.TAG)))
                .split(SplitSpec.kFold(5).seed(1)).write(out).format(Format.JSONL).run();
        Map<String, String> foldOfCluster = new HashMap<>();
        for (int f = 0; f < 5; f++) {
            for (String line : Files.readAllLines(out.resolve("fold-" + f + ".jsonl"))) {
                String cluster = Json.MAPPER.readTree(line).at("/_meta/cluster").asText();
                String prev = foldOfCluster.putIfAbsent(cluster, "fold-" + f);
                assertTrue(prev == null || prev.equals("fold-" + f), "cluster " + cluster + " straddles folds");
            }
        }
        assertEquals(200, foldOfCluster.size());
        Path out2 = dir.resolve("g2");
        Pipeline.builder().read(Formats.jsonl(dir.resolve("g.jsonl"))).split(SplitSpec.defaults().groupBy("user")
                .groupNearDuplicates(false)).write(out2).run();
        Map<String, String> splitOfUser = new HashMap<>();
        for (String s : List.of("train", "validation", "test")) {
            for (String line : Files.readAllLines(out2.resolve(s + ".jsonl"))) {
                String user = Json.MAPPER.readTree(line).get("user").asText();
                assertEquals(s, splitOfUser.computeIfAbsent(user, k -> s));
            }
        }
    }

    @Test
    void streamsManyRecordsThroughCleanDedupAndSplit() throws IOException {
        Path in = dir.resolve("many.jsonl");
        SplittableRandom rnd = new SplittableRandom(2);
        int n = 50_000;
        try (BufferedWriter w = Files.newBufferedWriter(in)) {
            for (int i = 0; i < n; i++) {
                StringBuilder doc = new StringBuilder("doc").append(i / 2); // every pair shares its text: exact copies
                for (int j = 0; j < 25; j++) {
                    doc.append(" w").append(rnd.nextInt(1_000_000));
                }
                w.write("{\"text\":\"" + (i % 2 == 0 ? doc : "") + "\"}\n");
            }
        }
        PipelineReport r = Pipeline.builder().read(Formats.jsonl(in)).step(TextCleaner.defaults())
                .step(new ExactDedup()).step(new NearDedup(NearDedupConfig.defaults()))
                .split(SplitSpec.defaults().seed(1)).write(dir.resolve("many")).batchSize(1000).run();
        assertEquals(n, r.inputs().getFirst().records());
        assertEquals(n / 2 - 1, r.step("exact-dedup").dropped(), "all empty texts but the first are duplicates");
        assertEquals(n / 2 + 1, r.written() + r.step("near-dedup").dropped());
    }

    @Test
    void noRecordsIsAnErrorThatNamesTheCause() throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "not json\n{\"text\": 5}\n");
        Path out = dir.resolve("none");
        EmptyDatasetException e = assertThrows(EmptyDatasetException.class,
                () -> Pipeline.builder().read(Formats.jsonl(bad)).split(SplitSpec.defaults()).write(out).run());
        assertTrue(e.getMessage().contains("bad.jsonl gave 0 records and 2 bad lines"), e.getMessage());
        assertEquals(2, Files.readAllLines(out.resolve("quarantine.jsonl")).size(), "the quarantine explains why");
        assertFalse(Files.exists(out.resolve("train.jsonl")));
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "");
        assertThrows(EmptyDatasetException.class,
                () -> Pipeline.builder().read(Formats.jsonl(empty)).write(dir.resolve("e")).run());
        Path dup = dir.resolve("dup.jsonl");
        Files.writeString(dup, "{\"text\":\"\"}\n");
        EmptyDatasetException dropped = assertThrows(EmptyDatasetException.class, () -> Pipeline.builder()
                .read(Formats.jsonl(dup)).step(new QualityFilter(QualityConfig.defaults())).write(dir.resolve("d"))
                .run());
        assertTrue(dropped.getMessage().contains("step 'quality' dropped 1"), dropped.getMessage());

        Path good = dir.resolve("good.jsonl");
        Files.writeString(good, "{\"text\": \"a record\"}\n");
        Pipeline.builder().read(Formats.jsonl(good)).write(out).run();
        assertEquals(Set.of("data.jsonl", "manifest.json"), fileNames(out),
                "the failed run's quarantine file is not left beside the next run's clean data");
    }

    /**
     * A run into a folder an earlier run wrote removes that run's outputs it does not write itself, so that no
     * stale train.jsonl sits beside the new data.jsonl; a file the earlier run wrote but that changed since, and this
     * run's inputs, stay.
     */
    @Test
    void aSecondRunRemovesTheFirstRunsOutputsThatItDoesNotWrite() throws IOException {
        Path in = dir.resolve("in.jsonl");
        StringBuilder lines = new StringBuilder("not json\n");
        for (int i = 0; i < 40; i++) {
            lines.append("{\"text\":\"record ").append(i).append("\"}\n");
        }
        Files.writeString(in, lines);
        Path out = dir.resolve("out");
        Pipeline.builder().read(Formats.jsonl(in)).split(SplitSpec.defaults().seed(1)).write(out).run();
        assertTrue(Files.exists(out.resolve("quarantine.jsonl")) && Files.exists(out.resolve("train.jsonl")));

        Path clean = dir.resolve("clean.jsonl");
        Files.writeString(clean, lines.substring("not json\n".length()));
        Files.writeString(out.resolve("test.jsonl"), "{\"text\":\"edited by hand\"}\n", StandardOpenOption.APPEND);
        PipelineReport second = Pipeline.builder().read(Formats.jsonl(clean)).write(out).run();
        assertEquals(Set.of("data.jsonl", "manifest.json", "test.jsonl"), fileNames(out));
        assertEquals(List.of("data.jsonl"), second.outputs().stream().map(f -> f.file()).toList());
        assertTrue(second.warnings().stream().anyMatch(w -> w.startsWith("test.jsonl is an earlier run's output that"
                + " changed since")), second.warnings().toString());

        Pipeline.builder().read(Formats.jsonl(out.resolve("data.jsonl"))).split(SplitSpec.defaults().seed(1))
                .write(out).run();
        assertTrue(Files.exists(out.resolve("data.jsonl")), "this run's input is never removed");
    }

    private static Set<String> fileNames(Path folder) throws IOException {
        try (var files = Files.list(folder)) {
            return files.map(f -> f.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void warnsWhenAStepDropsMostRecordsOrASplitIsTiny() throws IOException {
        Path in = dir.resolve("w.jsonl");
        try (BufferedWriter w = Files.newBufferedWriter(in)) {
            for (int i = 0; i < 60; i++) {
                w.write("{\"text\":\"the same words again and again with number " + (i % 20 < 15 ? 0 : i) + "\"}\n");
            }
        }
        Path out = dir.resolve("w");
        PipelineReport r = Pipeline.builder().read(Formats.jsonl(in)).step(new ExactDedup())
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(1)).write(out).run();
        assertEquals(44, r.step("exact-dedup").dropped());
        List<String> w = r.warnings();
        assertTrue(w.contains("step 'exact-dedup' dropped 73% of its records (44 of 60): check its settings"
                + " (e.g. a near-dedup threshold that is too low)"), w.toString());
        assertTrue(w.stream().anyMatch(s -> s.startsWith("validation.jsonl holds ")), w.toString());
        assertTrue(w.stream().anyMatch(s -> s.startsWith("test.jsonl holds ")), w.toString());
        JsonNode manifest = Json.MAPPER.readTree(out.resolve("manifest.json").toFile());
        assertEquals(w.size(), manifest.get("warnings").size());
    }

    @Test
    void linesInEqualRecordsOutPlusQuarantined() throws IOException {
        Path in = dir.resolve("mixed.jsonl");
        try (BufferedWriter w = Files.newBufferedWriter(in)) {
            for (int i = 0; i < 200; i++) {
                w.write(switch (i % 5) {
                    case 0 -> "null";
                    case 1 -> "{\"text\": [1]";
                    case 2 -> "{\"text\":\"x\",\"_meta\":{\"source\":\"other.jsonl:1\"}}";
                    default -> "{\"text\":\"record " + i + "\"}";
                });
                w.write("\n");
            }
        }
        Path out = dir.resolve("acc");
        PipelineReport r = Pipeline.builder().read(Formats.jsonl(in)).split(SplitSpec.defaults().seed(3))
                .write(out).run();
        assertEquals(200, r.written() + r.quarantined());
        long lines = 0;
        Set<String> sources = new HashSet<>();
        for (String s : List.of("train", "validation", "test", "quarantine")) {
            for (String line : Files.readAllLines(out.resolve(s + ".jsonl"))) {
                JsonNode n = Json.MAPPER.readTree(line);
                sources.add(s.equals("quarantine") ? "mixed.jsonl:" + n.get("line").asLong()
                        : n.at("/_meta/source").asText());
                lines++;
            }
        }
        assertEquals(200, lines);
        assertEquals(200, sources.size(), "every input line exactly once, under its own source");
    }

    private static Set<String> texts(Path p) throws IOException {
        Set<String> s = new HashSet<>();
        for (String line : Files.readAllLines(p)) {
            s.add(Json.MAPPER.readTree(line).get("text").asText());
        }
        assertNotNull(s);
        return s;
    }
}
