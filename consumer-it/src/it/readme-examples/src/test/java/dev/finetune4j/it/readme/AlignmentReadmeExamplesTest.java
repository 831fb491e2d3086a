package dev.finetune4j.it.readme;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.data.preference.PreferenceExport;
import dev.finetune4j.data.preference.UnpairedBuilder;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.train.ClassificationDataset;
import dev.finetune4j.peft.train.ClassificationTrainer;
import dev.finetune4j.peft.train.KtoConfig;
import dev.finetune4j.peft.train.KtoDataset;
import dev.finetune4j.peft.train.KtoExample;
import dev.finetune4j.peft.train.KtoTrainer;
import dev.finetune4j.peft.train.OrpoConfig;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.ReferenceFreeTrainer;
import dev.finetune4j.peft.train.RewardConfig;
import dev.finetune4j.peft.train.RewardTrainer;
import dev.finetune4j.peft.train.TrainResult;
import dev.finetune4j.peft.train.TrainingConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** README's multi-label classifier, preference objectives and reward model, as written, on the tiny fixtures. */
class AlignmentReadmeExamplesTest {

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void multiLabelClassifier() throws Exception {
        Path dir = Fixtures.byteBpeModel();
        Tokenizer tokenizer = HfTokenizer.load(Path.of("Qwen2.5-0.5B-Instruct"));
        List<String> texts = List.of("I was charged twice, give my money back", "the app is down", "thanks!");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(3).learningRate(1e-3)
                .evalEverySteps(2).logEverySteps(0).build();
        ClassificationDataset validation = ClassificationDataset.fromTexts(texts, new float[][]{{1, 1, 0}, {0, 0, 1},
                {0, 0, 0}}, tokenizer, 256);
        Fixtures.delete(Path.of("runs/tickets"));
        // example README.md#10
        ClassifierConfig classes = ClassifierConfig.fromJson(AutoModel.readConfig(dir))
                .withLabels(List.of("billing", "refund", "outage"))
                .withProblemType(ClassifierConfig.ProblemType.MULTI_LABEL_CLASSIFICATION)
                .withPadTokenId(tokenizer.padTokenId().orElse(tokenizer.eosTokenId().orElse(0)));
        try (var base = AutoModel.loadSequenceClassifier(dir, Device.cpu(), classes)) {
            PeftClassifier clf = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());
            float[][] labels = {{1, 1, 0},   // "I was charged twice, give my money back"
                                {0, 0, 1},   // "the app is down"
                                {0, 0, 0}};  // "thanks!"
            TrainResult r = ClassificationTrainer.builder().model(clf).config(cfg)
                    .trainData(ClassificationDataset.fromTexts(texts, labels, tokenizer, 256))
                    .evalData(validation).build().train();
            Map<String, Double> scores = r.evalHistory().getLast().extra();   // accuracy (subset), f1_micro, f1_macro
            clf.save(Path.of("runs/tickets/adapter"));   // PEFT SEQ_CLS, the score head as modules_to_save
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("runs/tickets/adapter/adapter_model.safetensors")));
    }

    @Test
    void preferenceObjectives() throws Exception {
        List<PreferenceExample> pairs = Fixtures.preferencePairs().subList(0, 1);
        List<PreferenceExample> heldOutPairs = Fixtures.preferencePairs().subList(1, 2);
        List<Feedback> thumbsVotes = Fixtures.thumbsVotes();
        List<KtoExample> rows = List.of(new KtoExample(new long[]{72, 105, 63}, new long[]{89, 101}, true),
                new KtoExample(new long[]{81, 63}, new long[]{66, 46}, false));
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(2).learningRate(1e-3)
                .logEverySteps(0).build();
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build());
            // example README.md#11
            // ORPO: SFT and preference alignment in one stage, no reference model
            ReferenceFreeTrainer.builder().model(model).config(cfg)
                    .loss(OrpoConfig.defaults())                  // or new SimpoConfig(2.5, 1.25, 0, 0): SimPO as published
                    .trainData(PreferenceDataset.of(pairs)).evalData(PreferenceDataset.of(heldOutPairs))
                    .build().train();   // extra(): rewards/{chosen,rejected,margins,accuracies}, logps/*, nll_loss, log_odds_ratio

            // KTO: single thumbs up/down
            UnpairedBuilder.Result rated = new UnpairedBuilder(1).add(thumbsVotes).build();   // each rated answer once
            PreferenceExport.writeUnpaired(rated.rows(), Path.of("kto.jsonl"));               // TRL's {prompt, completion, label}
            KtoTrainer.builder().model(model).config(cfg)
                    .kto(KtoConfig.defaults())                    // beta 0.1, desirable_weight 1, undesirable_weight 1
                    .trainData(KtoDataset.of(rows))               // KtoExample(promptIds, completionIds, desirable)
                    .build().train();   // extra(): rewards/chosen, rewards/rejected, rewards/margins, logps/*, kl
            // end example
        }
        assertEquals(2, Files.readAllLines(Path.of("kto.jsonl")).size(), "one row per rated answer");
    }

    @Test
    void rewardModel() throws Exception {
        Path dir = Fixtures.tinyLlama();
        long padId = 0;
        List<PreferenceExample> pairs = Fixtures.preferencePairs().subList(0, 1);
        List<PreferenceExample> heldOutPairs = Fixtures.preferencePairs().subList(1, 2);
        long[] promptAndAnswer = {72, 105, 63, 89, 101, 115};
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(2).microBatchSize(1).learningRate(1e-3)
                .evalEverySteps(2).logEverySteps(0).build();
        Fixtures.delete(Path.of("runs/reward"));
        // example README.md#12
        ClassifierConfig oneScore = ClassifierConfig.fromJson(AutoModel.readConfig(dir)).withLabels(List.of("reward"))
                .withPadTokenId(padId);                       // the tokenizer's pad (or eos) id: rows are padded with it
        try (var base = AutoModel.loadSequenceClassifier(dir, Device.cpu(), oneScore)) {
            PeftClassifier rm = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());   // q_proj, v_proj + score
            TrainResult r = RewardTrainer.builder().model(rm).config(cfg)
                    .reward(new RewardConfig(0.01))           // TRL's center_rewards_coefficient (default 0: none)
                    .trainData(PreferenceDataset.of(pairs)).evalData(PreferenceDataset.of(heldOutPairs)).build().train();
            double ranked = r.evalHistory().getLast().extra().get("rewards/accuracies");   // held-out pairs ranked right
            rm.save(Path.of("runs/reward/adapter"));          // PEFT SEQ_CLS: the adapter + score as modules_to_save
            float reward = rm.logits(new long[][]{promptAndAnswer}, null)[0][0];         // score any sequence
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("runs/reward/adapter/adapter_model.safetensors")));
    }
}
