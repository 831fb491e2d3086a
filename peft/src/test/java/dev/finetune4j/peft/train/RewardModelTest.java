package dev.finetune4j.peft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.HfModelFolder;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.bert.BertConfig;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RewardModel}: its scores are the classifier's own logit on hand-built tokens (prompt + completion encoded
 * without special tokens; a conversation through the chat template), alone and padded in a batch, for a decoder loaded
 * from a folder with a {@link RewardTrainer}-trained adapter and for BERT; refusals; GRPO with a reward model as its
 * only reward.
 */
class RewardModelTest {
    private static final ByteLevelTokenizer TOK = new ByteLevelTokenizer();
    private static final long PAD = ByteLevelTokenizer.PAD;

    /** A random causal LLaMA over the byte-level ids, saved as a Hugging Face folder (config.json without labels). */
    static Path llamaFolder(Path dir) throws IOException {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "llama").put("vocab_size", ByteLevelTokenizer.VOCAB_SIZE).put("hidden_size", 32)
                .put("intermediate_size", 64).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("max_position_embeddings", 64).put("rms_norm_eps", 1e-6)
                .put("rope_theta", 10000.0).put("hidden_act", "silu").put("tie_word_embeddings", false);
        try (LanguageModel m = AutoModel.newCausalLM(c, TensorScope.detached())) {
            StateDicts.initNormal(m, 0.1, new SplittableRandom(5));
            HfModelFolder.save(m, c, null, dir);
        }
        return dir;
    }

    /** The folder's decoder as a one-label classifier padded with the byte-level PAD (a new score head, seeded). */
    private static PeftClassifier rewardClassifier(Path folder) {
        ClassifierConfig oneScore = ClassifierConfig.fromJson(AutoModel.readConfig(folder))
                .withLabels(List.of("reward")).withPadTokenId(PAD);
        return Peft.wrap(AutoModel.loadSequenceClassifier(folder, Device.cpu(), oneScore),
                LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj").loraDropout(0).build());
    }

    /** The classifier's logit of {@code text}'s ids, one row, no padding: the reference. */
    private static double reference(SequenceClassifier classifier, String text) {
        return classifier.logits(new long[][]{TOK.encode(text)}, null)[0][0];
    }

    private static final List<ChatMessage> CHAT = List.of(ChatMessage.system("Be brief."), ChatMessage.user("2+2?"));
    /** Prompts of other lengths (so the batch pads), one a conversation. */
    private static final List<GrpoExample> PROMPTS = List.of(new GrpoExample(TOK.encode("Say "), "Say "),
            new GrpoExample(TOK.encode("Hi, how are you? "), "Hi, how are you? "),
            new GrpoExample(TOK.encodeChat(CHAT, true), "2+2?", CHAT));
    private static final List<String> COMPLETIONS = List.of("yes", "fine, thanks a lot", "4");

    /** The reference texts of {@link #PROMPTS} and {@link #COMPLETIONS}: joined, or the chat with the answer. */
    private static List<String> referenceTexts() {
        List<ChatMessage> answered = new ArrayList<>(CHAT);
        answered.add(ChatMessage.assistant("4"));
        return List.of("Say yes", "Hi, how are you? fine, thanks a lot", TOK.applyChatTemplate(answered, false));
    }

    @Test
    void aLoadedDecoderWithItsTrainedAdapterScoresAsItsOwnForwardAloneAndInABatch(@TempDir Path tmp) throws IOException {
        Path folder = llamaFolder(tmp.resolve("base"));
        List<Double> expected = new ArrayList<>();
        try (PeftClassifier trained = rewardClassifier(folder)) {
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(3).microBatchSize(4).learningRate(1e-2).seed(1)
                    .logEverySteps(0).build();
            RewardTrainer.builder().model(trained).config(cfg).trainData(RewardTrainerTest.rankable(8, 1)).build().train();
            trained.save(tmp.resolve("adapter"));
            trained.train(false);
            referenceTexts().forEach(text -> expected.add(reference(trained, text)));
        }
        try (RewardModel rm = RewardModel.load(folder, tmp.resolve("adapter"), TOK, Device.cpu())) {
            assertEquals("base", rm.name(), "named after its folder, as TRL names a model by its id");
            double[] batch = rm.scoreAll(PROMPTS, COMPLETIONS);
            for (int i = 0; i < batch.length; i++) {
                assertEquals(expected.get(i), batch[i], 1e-5, "row " + i + " in the padded batch");
                double alone = rm.scoreAll(List.of(PROMPTS.get(i)), List.of(COMPLETIONS.get(i)))[0];
                assertEquals(expected.get(i), alone, 1e-5, "row " + i + " alone");
            }
            assertEquals(expected.getFirst(), rm.score("Say ", "yes"), 1e-5, "score(prompt, completion) joins the texts");
            assertTrue(Math.abs(expected.get(0) - expected.get(1)) > 1e-4, "the rows score differently: " + expected);
        }
    }

    @Test
    void aWrappedBertScoresAsItsOwnForwardAndStaysOpenAfterClose() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", "bert").put("vocab_size", ByteLevelTokenizer.VOCAB_SIZE).put("hidden_size", 32)
                .put("num_hidden_layers", 2).put("num_attention_heads", 4).put("intermediate_size", 64)
                .put("max_position_embeddings", 64).put("type_vocab_size", 2).put("layer_norm_eps", 1e-12)
                .put("hidden_act", "gelu").put("pad_token_id", 0).put("num_labels", 1);
        ClassifierConfig oneScore = new ClassifierConfig(List.of("reward"),
                ClassifierConfig.ProblemType.of(null, 1), OptionalLong.empty());
        try (var bert = new BertForSequenceClassification(TensorScope.detached(), BertConfig.fromJson(c), oneScore)) {
            StateDicts.initNormal(bert, 0.1, new SplittableRandom(7));
            List<String> texts = referenceTexts();
            double[] batch;
            try (RewardModel rm = RewardModel.of(bert, TOK)) {
                assertEquals(RewardModel.DEFAULT_NAME, rm.name());
                batch = rm.scoreAll(PROMPTS, COMPLETIONS);
            }
            for (int i = 0; i < batch.length; i++) {
                assertEquals(reference(bert, texts.get(i)), batch[i], 1e-5, "BERT row " + i + " in the padded batch");
            }
            assertTrue(Math.abs(batch[0] - batch[1]) > 1e-4, "the rows score differently");
        }
    }

    @Test
    void refusesMultiLabelMissingFoldersAndALargerTokenizer(@TempDir Path tmp) throws IOException {
        var labels = assertThrows(IllegalArgumentException.class,
                () -> RewardModel.load(Fixtures.dir("bert_cls"), TOK, Device.cpu()));
        assertTrue(labels.getMessage().contains("has 3 labels: use a classifier with num_labels 1"), labels.getMessage());
        try (var three = ClassificationTrainerTest.tinyQwen(List.of("a", "b", "c"))) {
            var wrapped = assertThrows(IllegalArgumentException.class, () -> RewardModel.of(three, TOK));
            assertTrue(wrapped.getMessage().contains("the classifier has 3 labels"), wrapped.getMessage());
        }
        var missing = assertThrows(IllegalArgumentException.class,
                () -> RewardModel.load(tmp.resolve("nowhere"), TOK, Device.cpu()));
        assertTrue(missing.getMessage().contains("nowhere does not exist: point at a Hugging Face model folder"),
                missing.getMessage());
        Path folder = llamaFolder(tmp.resolve("base"));
        var noAdapter = assertThrows(IllegalArgumentException.class,
                () -> RewardModel.load(folder, tmp, TOK, Device.cpu()));
        assertTrue(noAdapter.getMessage().contains("has no adapter_config.json"), noAdapter.getMessage());
        var untrainedHead = assertThrows(IllegalArgumentException.class,
                () -> RewardModel.load(folder, TOK, Device.cpu()));
        assertTrue(untrainedHead.getMessage().contains("names no labels: it is a language model, not a reward model"),
                untrainedHead.getMessage());
        try (var small = ClassificationTrainerTest.tinyQwen(List.of("reward"))) {
            var vocab = assertThrows(IllegalArgumentException.class, () -> RewardModel.of(small, TOK));
            assertTrue(vocab.getMessage().contains("the reward tokenizer has 259 tokens, but the reward model's "
                    + "vocabulary has 32"), vocab.getMessage());
        }
        ClassifierConfig withoutPad = ClassifierConfig.fromJson(AutoModel.readConfig(folder)).withLabels(List.of("reward"));
        try (var noPad = AutoModel.loadSequenceClassifier(folder, Device.cpu(), withoutPad)) {
            var pad = assertThrows(IllegalArgumentException.class, () -> RewardModel.of(noPad, TOK));
            assertTrue(pad.getMessage().contains("the decoder reward model has no pad_token_id"), pad.getMessage());
        }
    }

    /**
     * A reward model trained by {@link RewardTrainer} to prefer lowercase letters over random bytes is GRPO's only
     * reward: its mean rises and the metrics carry its name.
     */
    @Test
    void grpoRaisesTheRewardOfARewardModelTrainedToPreferLowercase(@TempDir Path tmp) throws IOException {
        Path folder = llamaFolder(tmp.resolve("base"));
        SplittableRandom random = new SplittableRandom(11);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            long[] prompt = GrpoTrainerTest.PROMPTS.get(i % GrpoTrainerTest.PROMPTS.size()).prompt();
            pairs.add(new PreferenceExample(prompt, random.longs(1 + random.nextInt(8), 'a', 'z' + 1).toArray(),
                    random.longs(1 + random.nextInt(8), 0, 256).toArray()));
        }
        List<StepMetrics> steps = new ArrayList<>();
        try (PeftClassifier judge = rewardClassifier(folder); LanguageModel base = GrpoTrainerTest.tinyByteLlama()) {
            RewardTrainer.builder().model(judge).trainData(PreferenceDataset.of(pairs)).config(TrainingConfig.builder()
                    .maxSteps(30).microBatchSize(8).learningRate(1e-2).seed(2).logEverySteps(0).build()).build().train();
            PeftModel policy = Peft.wrap(base, GrpoTrainerTest.lora());
            RewardModel rm = RewardModel.of(judge, TOK);
            GrpoTrainer.builder().model(policy).tokenizer(TOK).reward(RewardFunction.named("judge", rm))
                    .grpo(GrpoConfig.builder().numGenerations(6).maxCompletionLength(8).build())
                    .config(TrainingConfig.builder().maxSteps(30).microBatchSize(4).learningRate(5e-2)
                            .schedule(Schedule.CONSTANT).seed(3).logEverySteps(0).build())
                    .trainData(GrpoTrainerTest.PROMPTS).listener(new TrainingListener() {
                        @Override
                        public void onStep(StepMetrics m) {
                            steps.add(m);
                        }
                    }).build().train();
            double first = steps.subList(0, 4).stream().mapToDouble(m -> m.extra().get("rewards/judge/mean")).average().orElseThrow();
            double last = steps.subList(26, 30).stream().mapToDouble(m -> m.extra().get("rewards/judge/mean")).average().orElseThrow();
            System.out.printf("GRPO with a reward model: judge reward first 4 steps %.3f, last 4 steps %.3f%n", first, last);
            assertTrue(last > first + 0.5, "judge reward " + first + " -> " + last);
            assertEquals(steps.getLast().extra().get("reward"), steps.getLast().extra().get("rewards/judge/mean"), 1e-12);
        }
    }
}
