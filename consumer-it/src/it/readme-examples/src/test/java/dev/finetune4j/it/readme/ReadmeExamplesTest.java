package dev.finetune4j.it.readme;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.format.Formats;
import dev.finetune4j.data.pii.PiiRedactor;
import dev.finetune4j.data.pii.PiiStep;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.data.preference.PreferenceBuilder;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.data.split.SplitSpec;
import dev.finetune4j.eval.AbTest;
import dev.finetune4j.eval.AbTestResult;
import dev.finetune4j.eval.Bleu;
import dev.finetune4j.eval.CorpusRelevance;
import dev.finetune4j.eval.DomainRelevance;
import dev.finetune4j.eval.EvalReport;
import dev.finetune4j.eval.GateDecision;
import dev.finetune4j.eval.GateRule;
import dev.finetune4j.eval.GateVerdict;
import dev.finetune4j.eval.Perplexity;
import dev.finetune4j.eval.Preference;
import dev.finetune4j.eval.PromotionGate;
import dev.finetune4j.eval.Reports;
import dev.finetune4j.eval.Rouge;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.ClassificationDataset;
import dev.finetune4j.peft.train.ClassificationTrainer;
import dev.finetune4j.peft.train.DpoConfig;
import dev.finetune4j.peft.train.DpoTrainer;
import dev.finetune4j.peft.train.EvalMetrics;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftTrainer;
import dev.finetune4j.peft.train.StepMetrics;
import dev.finetune4j.peft.train.TokenizedDataset;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;
import dev.finetune4j.peft.train.TrainingListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples of the repository's README.md ("A short tour"), run against the fixtures. */
class ReadmeExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void data() throws Exception {
        List<Feedback> thumbsVotes = Fixtures.thumbsVotes();
        // example README.md#1
        PipelineReport report = Pipeline.builder()
                .read(Formats.jsonl(Path.of("raw.jsonl")).schema(Schema.ALPACA))
                .step(TextCleaner.defaults())                               // HTML, NFKC, control characters, whitespace
                .step(new PiiStep(PiiRedactor.defaults()))                  // [EMAIL] [PHONE] [ID_NUMBER] [BANK_CARD] [IP]
                .step(new ExactDedup())
                .step(new NearDedup(NearDedupConfig.defaults()))            // MinHash + LSH
                .split(SplitSpec.ratio(0.8, 0.1, 0.1).stratifyBy("label").seed(42))
                .write(Path.of("prepared"))                                 // train/validation/test.jsonl, quarantine.jsonl, manifest.json
                .run();
        PreferenceBuilder.Result prefs = new PreferenceBuilder(1).add(thumbsVotes).build();   // (prompt, chosen, rejected)
        // end example
        assertTrue(Files.isRegularFile(Path.of("prepared/train.jsonl")));
        assertEquals(1, report.step("exact-dedup").dropped(), "raw.jsonl repeats its first line once");
        assertEquals(1, prefs.pairs().size());
    }

    @Test
    void peft() throws Exception {
        Path baseDir = Fixtures.tinyLlama();
        // example README.md#2
        try (LanguageModel base = AutoModel.loadCausalLM(Path.of("models/Qwen2.5-0.5B-Instruct"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj").build());
            System.out.println(model.trainableReport());
            model.save(Path.of("adapter"));                              // adapter_config.json + adapter_model.safetensors
            LanguageModel merged = model.mergeAndUnload();               // LoRA, DoRA, IA3
        }
        PeftModel tuned = Peft.load(AutoModel.loadCausalLM(baseDir), Path.of("adapter-from-python-peft"));
        // end example
        assertTrue(Files.isRegularFile(Path.of("adapter/adapter_model.safetensors")));
        assertEquals(256, tuned.vocabSize());
        tuned.close();
    }

    @Test
    void devicesWeightsAndGeneration() throws Exception {
        Path baseDir = Fixtures.tinyLlama();
        long[] promptA = {5, 17, 3, 9};
        long[] promptB = {8};
        // example README.md#5
        LoadOptions options = LoadOptions.builder().device(Device.auto()).build();   // cuda:0 when a CUDA backend runs here, else the CPU
        try (LanguageModel lm = AutoModel.loadCausalLM(baseDir, options)) {
            long[][] answers = Generator.generate(lm, new long[][]{promptA, promptB}, GenerationConfig.greedy(32));
            System.out.println(options.device().memory().describe());                // tensor bytes allocated now (and the peak)
        }
        try (LanguageModel lm = AutoModel.loadCausalLM(baseDir, LoadOptions.builder().dtype(DType.BF16).build());
             var bf16 = Precision.BF16_MIXED.use()) {                                // for a GPU: bf16 weights, bf16 products
            long[] answer = Generator.generate(lm, promptA, GenerationConfig.greedy(32));
        }
        // end example
        assertTrue(Device.cpu().memory().peakBytes() > 0, "the model's tensors were counted");
    }

    @Test
    void training() throws Exception {
        Fixtures.delete(Path.of("runs/qa"));
        Fixtures.delete(Path.of("runs/qa-dpo"));
        long[][] inputIds = Fixtures.tokenIds(4, 12);
        long[][] labels = Fixtures.completionLabels(inputIds);
        TokenizedDataset validation = TokenizedDataset.of(Fixtures.tokenIds(2, 12));
        List<Integer> steps = new ArrayList<>();
        TrainingListener progress = new TrainingListener() {
            @Override
            public void onStep(StepMetrics m) {
                steps.add(m.step());
            }
        };
        List<PreferenceExample> pairs = Fixtures.preferencePairs().subList(0, 1);
        List<PreferenceExample> heldOutPairs = Fixtures.preferencePairs().subList(1, 2);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build());
            // example README.md#3
            TrainingConfig cfg = TrainingConfig.builder().epochs(3).microBatchSize(4).gradientAccumulationSteps(4)
                    .learningRate(2e-4).schedule(Schedule.COSINE).warmupRatio(0.03).maxGradNorm(1.0).seed(42)
                    .evalEverySteps(50).earlyStopping(3, 0.0).saveEverySteps(50).outputDir(Path.of("runs/qa")).build();
            TrainResult r = SftTrainer.builder().model(model).config(cfg)
                    .trainData(TokenizedDataset.of(inputIds, labels))         // labels -100 on prompt tokens
                    .evalData(validation).listener(progress).build().train();
            DpoTrainer.builder().model(model).config(cfg.toBuilder().outputDir(Path.of("runs/qa-dpo")).build()) // a run's own checkpoints
                    .dpo(DpoConfig.sigmoid(0.1)).trainData(PreferenceDataset.of(pairs)).evalData(PreferenceDataset.of(heldOutPairs))
                    .build().train();                                         // reference = the model as build() found it (after SFT: the SFT model)
            // end example
            assertEquals(3, r.steps(), "4 examples, 16 per optimizer step, 3 epochs");
            assertEquals(List.of(1, 2, 3), steps);
        }
    }

    @Test
    void evaluation() throws Exception {
        List<String> hypotheses = List.of("请在App选择理赔", "Pay in the app");
        List<String> references = List.of("请在App选择理赔报案", "Pay the premium in the app");
        List<long[]> documents = List.of(Fixtures.tokenIds(1, 20)[0]);
        List<String> domainTexts = List.of("claim the travel insurance premium", "bank card payment");
        List<String> generalTexts = List.of("the weather is nice today", "a recipe for bread");
        List<String> answers = List.of("pay the insurance premium by card");
        List<Preference> judgments = List.of(Preference.A, Preference.A, Preference.B, Preference.TIE);
        EvalReport candidate = EvalReport.builder("lora").metric("bleu", 30.0).metric("perplexity", 5.0).build();
        EvalReport baseline = EvalReport.builder("base").metric("bleu", 20.0).metric("perplexity", 8.0).build();
        try (LanguageModel model = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            // example README.md#4
            double bleu = Bleu.builder().tokenize("zh").build().corpusScore(hypotheses, List.of(references)).score();
            double rougeL = Rouge.builder().rougeTypes("rougeL").cjk(true).build()
                    .corpusScore(hypotheses, List.of(references)).get("rougeL").fmeasure();
            double ppl = Perplexity.builder().build().compute(model, documents).perplexity();
            CorpusRelevance drs = DomainRelevance.corpusScore(DomainRelevance.lexical(domainTexts, generalTexts), answers);
            AbTestResult ab = AbTest.builder().build().evaluate(judgments);          // win rate, Wilson, sign test, verdict
            GateDecision gate = PromotionGate.of(GateRule.higherIsBetter("bleu").maxRegression(1.0),
                    GateRule.lowerIsBetter("perplexity").maxRegression(0.05).relative(true)).evaluate(candidate, baseline);
            Reports.writeHtml(candidate, baseline, gate, Path.of("report.html"));
            // end example
            assertTrue(bleu > 0 && bleu <= 100, "BLEU " + bleu);
            assertTrue(rougeL > 0 && rougeL <= 1, "ROUGE-L " + rougeL);
            assertTrue(ppl > 1, "perplexity " + ppl);
            assertEquals(1, drs.perText().size());
            assertEquals(4, ab.winsA() + ab.winsB() + ab.ties());
            assertEquals(GateVerdict.PROMOTE, gate.verdict(), gate.reasons().toString());
            assertTrue(Files.size(Path.of("report.html")) > 0);
        }
    }

    @Test
    void classifier() throws Exception {
        Path dir = Fixtures.byteBpeModel();
        Tokenizer tokenizer = HfTokenizer.load(Path.of("Qwen2.5-0.5B-Instruct"));
        List<String> texts = List.of("my card was charged twice", "I want my money back", "hello there",
                "the invoice is wrong", "please refund the order", "what time is it");
        float[] classIndices = {0, 1, 2, 0, 1, 2};
        ClassificationDataset validation = ClassificationDataset.fromTexts(texts.subList(0, 3),
                new float[]{0, 1, 2}, tokenizer, 256);
        Fixtures.delete(Path.of("runs/intent"));
        // example README.md#12
        ClassifierConfig labels = ClassifierConfig.fromJson(AutoModel.readConfig(dir))
                .withLabels(List.of("billing", "refund", "other"))
                .withPadTokenId(tokenizer.padTokenId().orElse(tokenizer.eosTokenId().orElse(0)));
        try (var base = AutoModel.loadSequenceClassifier(dir, Device.cpu(), labels)) {
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build()); // q_proj, v_proj + score
            TrainingConfig cfg = TrainingConfig.builder().epochs(3).microBatchSize(8).learningRate(2e-4)
                    .evalEverySteps(50).earlyStopping(3, 0.0).build();
            TrainResult r = ClassificationTrainer.builder().model(clf).config(cfg)
                    .trainData(ClassificationDataset.fromTexts(texts, classIndices, tokenizer, 256))
                    .evalData(validation).build().train();
            List<EvalMetrics> evals = r.evalHistory();   // every 50 steps: loss, and accuracy and f1_macro in extra()
            clf.save(Path.of("runs/intent/adapter"));   // PEFT SEQ_CLS: LoRA tensors + base_model.model.score.weight
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("runs/intent/adapter/adapter_model.safetensors")));
    }
}
