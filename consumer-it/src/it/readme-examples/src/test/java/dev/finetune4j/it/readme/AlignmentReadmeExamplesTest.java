package dev.finetune4j.it.readme;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ChatMessage;
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
import dev.finetune4j.peft.train.GrpoConfig;
import dev.finetune4j.peft.train.GrpoDataset;
import dev.finetune4j.peft.train.GrpoTrainer;
import dev.finetune4j.peft.train.KtoConfig;
import dev.finetune4j.peft.train.KtoDataset;
import dev.finetune4j.peft.train.KtoExample;
import dev.finetune4j.peft.train.KtoTrainer;
import dev.finetune4j.peft.train.OrpoConfig;
import dev.finetune4j.peft.train.PreferenceDataset;
import dev.finetune4j.peft.train.PreferenceExample;
import dev.finetune4j.peft.train.ReferenceFreeTrainer;
import dev.finetune4j.peft.train.RewardConfig;
import dev.finetune4j.peft.train.RewardFunction;
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

/** README's multi-label classifier, preference objectives, reward model and GRPO, as written, on the tiny fixtures. */
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
        // example README.md#13
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
            // example README.md#14
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
        // example README.md#15
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

    @Test
    void grpoWithRewardsInJava() throws Exception {
        Path dir = Fixtures.byteBpeModel();
        Tokenizer tokenizer = HfTokenizer.load(Path.of("Qwen2.5-0.5B-Instruct"));
        List<String> orders = List.of("2 chairs at 40 EUR", "one desk, 120 EUR");
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(1).microBatchSize(2).learningRate(1e-3)
                .logEverySteps(0).build();
        Fixtures.delete(Path.of("runs/grpo"));
        // example README.md#16
        ObjectMapper json = new ObjectMapper();
        // 1 for a completion that parses as a JSON object with an "amount" field, else 0
        RewardFunction validOrder = RewardFunction.named("valid_order", (prompt, completion) -> {
            try {
                JsonNode order = json.readTree(completion);
                return order.isObject() && order.has("amount") ? 1 : 0;
            } catch (JsonProcessingException e) {
                return 0;
            }
        });
        // prefer short answers: 0 up to 80 characters, down to -1 at 160
        RewardFunction concise = RewardFunction.named("concise",
                (prompt, completion) -> -Math.min(1, Math.max(0, completion.length() - 80) / 80.0));

        try (LanguageModel base = AutoModel.loadCausalLM(dir)) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32).build());
            GrpoDataset prompts = GrpoDataset.fromChats(
                    orders.stream().map(o -> List.of(ChatMessage.user("Turn this into JSON: " + o))).toList(),
                    tokenizer, tokenizer.chatTemplate());     // or GrpoDataset.fromTexts(texts, tokenizer)
            TrainResult r = GrpoTrainer.builder().model(model).tokenizer(tokenizer)   // decodes completions; EOS ends them
                    .config(cfg)                              // microBatchSize counts prompts: x numGenerations completions
                    .grpo(GrpoConfig.builder().numGenerations(8).maxCompletionLength(128)
                            .rewardWeights(List.of(1.0, 0.2)).build())   // one weight per reward function, in order
                    .reward(validOrder).reward(concise)
                    .trainData(prompts).build().train();
            // StepMetrics.extra(): reward, reward_std, rewards/valid_order/mean, rewards/concise/std, frac_reward_zero_std,
            // completions/{mean,min,max}_length, completions/clipped_ratio, clip_ratio/*, kl (when beta > 0)
            model.save(Path.of("runs/grpo/adapter"));
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("runs/grpo/adapter/adapter_model.safetensors")));
    }
}
