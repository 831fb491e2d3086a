package dev.finetune4j.data.augment;

import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.format.Parsed;
import dev.finetune4j.data.format.RecordStream;
import dev.finetune4j.data.format.Source;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AugmentTest {
    @TempDir
    Path dir;

    @Test
    void chineseSegmentationAndJoin() {
        List<String> words = Segmenter.words("我喜欢北京的天气");
        assertTrue(words.contains("北京"), words.toString());
        assertEquals("我喜欢北京的天气", Segmenter.join(words));
        assertEquals("I like it", Segmenter.join(Segmenter.words("I like  it")));
    }

    @Test
    void synonymReplacementUsesTheDictionary() {
        SynonymSource syn = SynonymSources.of(Map.of("喜欢", List.of("喜爱"), "happy", List.of("glad")));
        Eda onlySr = new Eda(new EdaConfig(0.5, 0, 0, 0, 1, 1), syn);
        assertEquals("我喜爱北京", onlySr.augment("我喜欢北京", new SplittableRandom(1)));
        assertEquals("I am glad", onlySr.augment("I am happy", new SplittableRandom(1)));
    }

    /** Outputs of the earlier, list-shifting insertion: the same draws must still give the same words. */
    @Test
    void randomInsertionGivesTheSameTextsForTheSameSeed() {
        SynonymSource syn = SynonymSources.of(Map.of("quick", List.of("fast", "speedy"), "dog", List.of("hound"),
                "lazy", List.of("idle", "sluggish"), "喜欢", List.of("喜爱", "爱"), "天气", List.of("气候")));
        Eda onlyInsert = new Eda(new EdaConfig(0, 0.5, 0, 0, 1, 1), syn);
        Eda all = new Eda(EdaConfig.defaults(), syn);
        String en = "the quick brown fox jumps over the lazy dog while the quick cat sleeps";
        assertEquals("speedy fast the quick brown fox jumps fast over the speedy idle lazy speedy dog speedy while the "
                + "quick cat sleeps", onlyInsert.augment(en, new SplittableRandom(1)));
        assertEquals("fast the quick hound speedy hound brown fox jumps over idle the lazy dog while the idle quick cat "
                + "sleeps", onlyInsert.augment(en, new SplittableRandom(3)));
        assertEquals("the speedy sluggish fox jumps over the lazy dog while the cat sleeps",
                all.augment(en, new SplittableRandom(1)));
        assertEquals("the quick lazy brown fox jumps over idle hound while the quick cat sleeps",
                all.augment(en, new SplittableRandom(2)));
        assertEquals("气候我喜欢北京的天气气候气候，爱也气候喜欢上气候海的天气",
                onlyInsert.augment("我喜欢北京的天气，也喜欢上海的天气", new SplittableRandom(2)));
    }

    /** 4 MiB is the JSONL reader's default line limit; inserting by shifting a list took 12 s for it. */
    @Test
    void augmentingARecordAtTheLineLimitTakesSeconds() {
        String text = "a ".repeat(2 * 1024 * 1024);
        Eda eda = new Eda(EdaConfig.defaults(), SynonymSources.of(Map.of("a", List.of("b"))));
        String out = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> eda.augment(text, new SplittableRandom(1)));
        long inserted = out.chars().filter(c -> c == 'b').count();
        assertTrue(inserted > 300_000, "about 0.1 x 2M synonyms inserted and 0.1 x 2M replaced, found " + inserted);
    }

    @Test
    void edaAddsLinkedCopiesDeterministically() {
        Eda eda = new Eda(EdaConfig.defaults(), SynonymSources.of(Map.of()));
        Record r = Record.of(new SourceRef("a.jsonl", 3), Map.of("text", "the quick brown fox jumps over the lazy dog"));
        Outcome o = eda.apply(r);
        assertEquals(4, o.added().size());
        assertEquals("a.jsonl:3", o.added().getFirst().meta().get(Augmented.ORIGINAL_META));
        assertEquals("a.jsonl:3#eda0", o.added().getFirst().id());
        assertEquals(o.added(), eda.apply(r).added());
    }

    @Test
    void dictionaryFormats() throws IOException {
        Path cilin = dir.resolve("cilin.txt");
        Files.writeString(cilin, "Aa01A01= 人 士 人物\nAa01A02# 人类 全人类\nAa01A03@ 独\n");
        SynonymSource c = SynonymSources.cilin(cilin);
        assertEquals(List.of("士", "人物"), c.synonyms("人"));
        assertEquals(List.of(), c.synonyms("人类"));
        Path wn = dir.resolve("wn");
        Files.createDirectories(wn);
        Files.writeString(wn.resolve("data.adj"), "  1 This software and database is being provided\n"
                + "01148283 00 s 03 glad 0 happy 0 felicitous 0 000 | showing gladness\n");
        assertEquals(List.of("happy", "felicitous"), SynonymSources.wordnet(wn).synonyms("glad"));
        Path tsv = dir.resolve("s.tsv");
        Files.writeString(tsv, "# comment\nbig\tlarge,huge\n");
        assertEquals(List.of("big", "huge"), SynonymSources.tsv(tsv).synonyms("large"));
    }

    @Test
    void aWordInSeveralGroupsHasTheirUnionWithoutItself() throws IOException {
        Path tsv = dir.resolve("s.tsv");
        Files.writeString(tsv, "big\tlarge\nlarge\thuge,big,large\n");
        SynonymSource s = SynonymSources.tsv(tsv);
        assertEquals(List.of("big", "huge"), s.synonyms("large"));
        assertEquals(List.of("large", "huge"), s.synonyms("big"));
        assertEquals(List.of("large", "big"), s.synonyms("huge"));
        assertEquals(List.of(), s.synonyms("small"));
    }

    /** Mapping every word to a copy of its group was quadratic: 20k words on one line ran out of memory. */
    @Test
    void aGroupOfManyWordsLoadsInLinearTime() throws IOException {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < 50_000; i++) {
            line.append(i == 0 ? "" : ",").append('w').append(i);
        }
        Path tsv = Files.writeString(dir.resolve("big.tsv"), line);
        SynonymSource s = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> SynonymSources.tsv(tsv));
        List<String> syn = s.synonyms("w7");
        assertEquals(49_999, syn.size());
        assertEquals(List.of("w0", "w1", "w2", "w3", "w4", "w5", "w6", "w8"), syn.subList(0, 8));
        assertEquals("w49999", syn.getLast());
        assertTrue(!syn.contains("w7"));
    }

    @Test
    void aWordNetLineThatIsNotASynsetNamesTheFileAndLine() throws IOException {
        Path wn = Files.createDirectories(dir.resolve("wn"));
        Path noun = wn.resolve("data.noun");
        Files.writeString(noun, "\n00001740 03 n 02 entity 0 thing 0 001 @ 00001 n 0000 | x\n");
        assertEquals(List.of("thing"), SynonymSources.wordnet(wn).synonyms("entity"), "a blank line is skipped");
        Files.writeString(noun, "00001740 03 n 01 entity 0 001 @ 00001 n 0000 | x\n"
                + "00001741 03 n 7fffffff entity 0 001 @ 00001 n 0000 | x\n");
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class, () -> SynonymSources.wordnet(wn));
        assertTrue(huge.getMessage().contains(noun + " line 2") && huge.getMessage().contains("w_cnt")
                && huge.getMessage().contains("2147483647"), huge.getMessage());
        Files.writeString(noun, "00001740 03 n zz entity 0\n");
        IllegalArgumentException notHex = assertThrows(IllegalArgumentException.class, () -> SynonymSources.wordnet(wn));
        assertTrue(notHex.getMessage().contains(noun + " line 1") && notHex.getMessage().contains("'zz'"),
                notHex.getMessage());
        Files.writeString(noun, "00001740 03\n");
        IllegalArgumentException shortLine = assertThrows(IllegalArgumentException.class, () -> SynonymSources.wordnet(wn));
        assertTrue(shortLine.getMessage().contains(noun + " line 1"), shortLine.getMessage());
    }

    @Test
    void backTranslationAndMixture() throws IOException {
        Translator fake = (text, from, to) -> to.equals("en") ? "EN(" + text + ")" : text.replace("EN(", "").replace(")", "") + "!";
        Outcome o = new BackTranslation(fake, "zh", "en").apply(Record.of(new SourceRef("a", 1), Map.of("text", "你好")));
        assertEquals("你好!", o.added().getFirst().string("text"));
        Path a = dir.resolve("domain.jsonl");
        Path b = dir.resolve("general.jsonl");
        StringBuilder sa = new StringBuilder();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            sa.append("{\"text\":\"domain ").append(i).append("\"}\n");
            sb.append("{\"text\":\"general ").append(i).append("\"}\n");
        }
        Files.writeString(a, sa);
        Files.writeString(b, sb);
        PipelineReport r = Pipeline.builder()
                .read(new Mixture(List.of(Formats.jsonl(a), Formats.jsonl(b)), List.of(0.8, 0.2), 9))
                .write(dir.resolve("out")).run();
        String out = Files.readString(dir.resolve("out/data.jsonl"));
        long general = out.lines().filter(l -> l.contains("general")).count();
        assertEquals(400, out.lines().filter(l -> l.contains("domain")).count());
        assertTrue(general > 60 && general < 140, "about 100 general records expected, got " + general);
        assertNotEquals(null, r.inputs().getFirst().sha256());
    }

    @Test
    void aMixtureThatFailsToOpenClosesWhatItOpened() {
        boolean[] closed = {false};
        Source first = new Source() {
            @Override
            public String name() {
                return "first";
            }

            @Override
            public RecordStream open() {
                return new RecordStream() {
                    @Override
                    public Parsed next() {
                        return null;
                    }

                    @Override
                    public String sha256() {
                        return "";
                    }

                    @Override
                    public long bytesRead() {
                        return 0;
                    }

                    @Override
                    public void close() {
                        closed[0] = true;
                    }
                };
            }
        };
        Mixture m = new Mixture(List.of(first, Formats.jsonl(dir.resolve("missing.jsonl"))), List.of(1.0, 1.0), 1);
        assertThrows(IOException.class, m::open);
        assertTrue(closed[0], "the stream opened before the failure is closed");
    }
}
