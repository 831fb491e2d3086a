package dev.finetune4j.it.readme;

import dev.finetune4j.data.augment.BackTranslation;
import dev.finetune4j.data.augment.Eda;
import dev.finetune4j.data.augment.EdaConfig;
import dev.finetune4j.data.augment.Mixture;
import dev.finetune4j.data.augment.SynonymSource;
import dev.finetune4j.data.augment.SynonymSources;
import dev.finetune4j.data.augment.Translator;
import dev.finetune4j.data.clean.*;
import dev.finetune4j.data.dedup.*;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.*;
import dev.finetune4j.data.pipeline.*;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.data.preference.PreferenceBuilder;
import dev.finetune4j.data.preference.PreferenceExport;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples of data/README.md, run against small generated files. */
class DataGuideExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void pipeline() throws Exception {
        // example data/README.md#1
        PipelineReport report = Pipeline.builder()
            .read(Formats.jsonl(Path.of("raw.jsonl")))          // also Formats.json(...), Formats.csv(...)
            .step(TextCleaner.defaults())                        // HTML, NFKC, control chars, whitespace
            .step(new QualityFilter(QualityConfig.defaults().withChars(20, 20_000)))
            .step(new PiiStep(PiiRedactor.defaults()))           // [EMAIL], [PHONE], [ID_NUMBER], [BANK_CARD], [IP]
            .step(new ExactDedup())
            .step(new NearDedup(NearDedupConfig.defaults()))     // MinHash 128 perm + LSH 14x9
            .split(SplitSpec.ratio(0.8, 0.1, 0.1).seed(42))
            .write(Path.of("out"))
            .run();
        report.step("near-dedup").dropped();                   // counts per step, with reasons
        // end example
        assertTrue(Files.isRegularFile(Path.of("out/manifest.json")));
        assertEquals(1, report.step("exact-dedup").dropped(), "raw.jsonl repeats its first line once");
    }

    @Test
    void piiRedaction() {
        byte[] secret = "a key of the application".getBytes(StandardCharsets.UTF_8);
        // example data/README.md#2
        PiiRedactor.defaults().redact("手机 13812345678，邮箱 a@b.cn");     // "手机 [PHONE]，邮箱 [EMAIL]"
        PiiRedactor.builder().strategy(new Strategy.Mask('*')).build();       // 138****5678
        PiiRedactor.builder().strategy(new Strategy.KeyedHash(secret)).build(); // [PHONE:4f1c0a9b3e2d], same value same token
        PiiRedactor.builder().pattern("EMPLOYEE_ID", "EMP-\\d{6}").build();
        // end example
    }

    @Test
    void augmentation() throws Exception {
        Path domain = Path.of("raw.jsonl");
        Path general = Path.of("general.jsonl");
        Files.writeString(general, "{\"instruction\": \"账户 密码 怎么 改\", \"output\": \"在 设置 里 改 密码\"}\n");
        Translator myTranslator = (text, from, to) -> text;
        // example data/README.md#3
        SynonymSource syn = SynonymSources.cilin(Path.of("cilin.txt"));       // or .tsv(...), .wordnet(dictDir)
        Pipeline.builder()
            .read(new Mixture(List.of(Formats.jsonl(domain), Formats.jsonl(general)), List.of(0.8, 0.2), 1))
            .step(new Eda(new EdaConfig(0.1, 0.1, 0.1, 0.1, 4, 7), syn))       // SR, RI, RS, RD rates, 4 copies
            .step(new BackTranslation(myTranslator, "zh", "en"))               // any Translator implementation
            .write(Path.of("augmented"))
            .run();
        // end example
        assertTrue(Files.isRegularFile(Path.of("augmented/manifest.json")));
    }

    @Test
    void preferences() throws Exception {
        List<Feedback> feedbackEvents = Fixtures.thumbsVotes();
        // example data/README.md#4
        PreferenceBuilder.Result r = new PreferenceBuilder(1).add(feedbackEvents).build();
        PreferenceExport.write(r.pairs(), Path.of("dpo.jsonl"), PreferenceExport.Shape.TRL);  // or MESSAGES
        r.perPrompt(); r.overall();                                            // events, candidate pairs, ties, kept
        // end example
        assertEquals(1, Files.readAllLines(Path.of("dpo.jsonl")).size());
    }
}
