package dev.finetune4j.it.readme;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.record.Conversions;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.Checkpoints;
import dev.finetune4j.peft.train.DpoConfig;
import dev.finetune4j.peft.train.DpoTrainer;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.Schedule;
import dev.finetune4j.peft.train.SftDataset;
import dev.finetune4j.peft.train.SftExample;
import dev.finetune4j.peft.train.SftFormat;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples of peft/TRAINING.md, training the tiny LLaMA fixture for a few steps. */
class TrainingGuideExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    /** Collects what a progress display would show. */
    static final class ProgressUi {
        final List<Integer> steps = new ArrayList<>();

        void update(int step, double loss, Duration eta) {
            assertTrue(Double.isFinite(loss) && !eta.isNegative());
            steps.add(step);
        }
    }

    private static TrainingConfig shortRun() {
        return TrainingConfig.builder().epochs(2).microBatchSize(2).learningRate(1e-3).seed(1)
                .saveEverySteps(1).outputDir(Path.of("runs/qa")).build();
    }

    @Test
    void tokenizeRecords() throws Exception {
        Fixtures.delete(Path.of("runs/qa"));
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.byteBpeModel())) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(2).targetModules("q_proj").build());
            TrainingConfig cfg = shortRun();
            // example peft/TRAINING.md#1
            Tokenizer tok = HfTokenizer.load(Path.of("Qwen2.5-0.5B-Instruct"));      // or new ByteLevelTokenizer()
            Map<String, Object> record = Map.of("instruction", "Reset my password?", "output", "Settings > Security.");
            List<SftExample> examples = List.of(new SftExample.Chat(Conversions.toTurns(record).stream()   // data knows the shapes
                    .map(turn -> new ChatMessage(turn.role(), turn.content())).toList()));
            TokenizedDataset train = SftDataset.fromExamples(examples, tok, SftFormat.defaults()
                    .withTemplate("chatml")          // default: the tokenizer's own template (chatml, llama3, alpaca, simple)
                    .withMaxLength(1024)             // truncate (the end is cut); 0 = keep whole
                    .withPacking(true));             // pack into 1024-token sequences, attention kept within each example
            SftTrainer trainer = SftTrainer.builder().model(model).config(cfg).trainData(train)
                    .padTokenId(tok.padTokenId().orElse(0)).build();
            // end example
            assertEquals(1, train.size());
            assertEquals(2, trainer.train().steps(), "one packed sequence, one optimizer step in each of 2 epochs");
        }
    }

    @Test
    void sft() throws Exception {
        Fixtures.delete(Path.of("runs/qa"));
        long[][] inputIds = Fixtures.tokenIds(4, 12);
        long[][] labels = Fixtures.completionLabels(inputIds);
        TokenizedDataset validation = TokenizedDataset.of(Fixtures.tokenIds(2, 12));
        long tokenizerPadId = 0;
        ProgressUi ui = new ProgressUi();
        // example peft/TRAINING.md#2
        try (LanguageModel base = AutoModel.loadCausalLM(Path.of("Qwen2.5-0.5B"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj").loraDropout(0.05).build());
            TrainingConfig cfg = TrainingConfig.builder()
                    .epochs(3).microBatchSize(4).gradientAccumulationSteps(4)
                    .learningRate(2e-4).adamBetas(0.9, 0.999).adamEpsilon(1e-8).weightDecay(0.01)
                    .schedule(Schedule.COSINE).warmupRatio(0.03).maxGradNorm(1.0)
                    .shuffle(true).seed(42)
                    .evalEverySteps(50).earlyStopping(3, 0.0)          // patience 3 evaluations
                    .saveEverySteps(50).keepLastCheckpoints(3).outputDir(Path.of("runs/qa"))
                    .maxNonFiniteSteps(10).logEverySteps(10)
                    .build();
            SftTrainer trainer = SftTrainer.builder().model(model).config(cfg)
                    .trainData(TokenizedDataset.of(inputIds, labels))  // long[][]; -100 = no loss at that position
                                                                       // (or SftDataset.fromExamples(examples, tok, format))
                    .evalData(validation)
                    .padTokenId(tokenizerPadId)
                    .listener(new TrainingListener() {
                        @Override public void onStep(StepMetrics m) { ui.update(m.step(), m.loss(), m.eta()); }
                    })
                    .build();
            TrainResult r = trainer.train();
            System.out.println(r.summary());       // steps, why it stopped, best eval loss, best checkpoint
            model.save(Path.of("adapter"));        // PEFT format: adapter_config.json + adapter_model.safetensors
        }
        // end example
        assertEquals(List.of(1, 2, 3), ui.steps, "4 examples, 16 per optimizer step, 3 epochs");
        assertTrue(Files.isRegularFile(Path.of("adapter/adapter_model.safetensors")));
    }

    @Test
    void resume() throws Exception {
        Fixtures.delete(Path.of("runs/qa"));
        TokenizedDataset sameData = TokenizedDataset.of(Fixtures.tokenIds(4, 10));
        LoraConfig sameLoraConfig = LoraConfig.builder().r(2).targetModules("q_proj", "v_proj").build();
        TrainingConfig cfg = shortRun();
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            SftTrainer.builder().model(Peft.wrap(base, sameLoraConfig)).config(cfg).trainData(sameData)
                    .listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            assertTrue(m.step() <= 4);
                        }
                    }).build().train();
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            // example peft/TRAINING.md#3
            Path last = Checkpoints.latest(Path.of("runs/qa")).orElseThrow();
            TrainResult r = SftTrainer.builder().model(Peft.wrap(base, sameLoraConfig)).config(cfg)
                    .trainData(sameData).build().resume(last);
            // end example
            assertEquals(4, r.steps(), "resumed at the last checkpoint of a finished run: nothing left to do");
            assertEquals("checkpoint-4", last.getFileName().toString());
        }
    }

    @Test
    void dpo() throws Exception {
        PreferenceExample pair = Fixtures.preferencePairs().get(0);
        long[] promptIds = pair.prompt();
        long[] chosenIds = pair.chosen();
        long[] rejectedIds = pair.rejected();
        PreferenceDataset heldOut = PreferenceDataset.of(List.of(Fixtures.preferencePairs().get(1)));
        LoraConfig loraConfig = LoraConfig.builder().r(2).targetModules("q_proj", "v_proj").build();
        TrainingConfig cfg = TrainingConfig.builder().epochs(1).microBatchSize(1).learningRate(1e-3).seed(1).build();
        long padId = 0;
        Path sftAdapterDir = Files.createTempDirectory("sft-adapter");
        List<DpoTrainer.ResponseLogProbs> before;
        try (LanguageModel other = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            Peft.wrap(other, loraConfig).save(sftAdapterDir);
        }
        try (LanguageModel other = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            before = DpoTrainer.responseLogProbs(Peft.load(other, sftAdapterDir),
                    PreferenceDataset.of(List.of(new PreferenceExample(promptIds, chosenIds, rejectedIds))), padId);
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            // example peft/TRAINING.md#4
            PeftModel model = Peft.loadTrainable(base, sftAdapterDir);        // the reference is this model as build() finds it
            PreferenceDataset pairs = PreferenceDataset.of(List.of(new PreferenceExample(promptIds, chosenIds, rejectedIds)));
            DpoTrainer dpo = DpoTrainer.builder().model(model).config(cfg)
                    .dpo(DpoConfig.sigmoid(0.1).withLabelSmoothing(0.1))          // or DpoConfig.ipo(0.1)
                    .trainData(pairs).evalData(heldOut).build();
            TrainResult r = dpo.train();   // StepMetrics.extra(): rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected
            List<DpoTrainer.ResponseLogProbs> now = DpoTrainer.responseLogProbs(model, pairs, padId); // summed log-probs per pair
            List<DpoTrainer.PairLogProbs> lp = DpoTrainer.PairLogProbs.of(now, before);     // with log-probs taken before DPO
            // end example
            assertEquals(1, r.steps());
            assertEquals(1, lp.size());
        }
    }
}
