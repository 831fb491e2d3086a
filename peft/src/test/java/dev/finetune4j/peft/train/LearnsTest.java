package dev.finetune4j.peft.train;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA fine-tuning teaches a small random LLaMA 32 question/answer pairs it cannot know (random keys to random
 * three-letter answers) until greedy generation answers at least 90% of them exactly. The pairs go in as user/assistant
 * conversations through {@link SftDataset} (byte-level tokenizer, "simple" chat template, completion-only loss).
 */
class LearnsTest {
    private static final int PAIRS = 32;
    private static final Tokenizer TOK = new ByteLevelTokenizer();

    @Test
    void loraLearnsThirtyTwoAnswers() {
        SplittableRandom random = new SplittableRandom(2024);
        List<String> questions = new ArrayList<>();
        List<String> answers = new ArrayList<>();
        List<SftExample> examples = new ArrayList<>();
        for (int i = 0; i < PAIRS; i++) {
            questions.add("Q" + (char) ('a' + i % 26) + (i / 26) + "=");
            answers.add("" + letter(random) + letter(random) + letter(random) + ";");
            examples.add(SftExample.chat(ChatMessage.user(questions.get(i)), ChatMessage.assistant(answers.get(i))));
        }
        TokenizedDataset data = SftDataset.fromExamples(examples, TOK, SftFormat.defaults());
        TrainingConfig cfg = TrainingConfig.builder().maxSteps(300).microBatchSize(8).learningRate(3e-3)
                .schedule(Schedule.CONSTANT).warmupSteps(10).maxGradNorm(1.0).shuffle(true).seed(1).logEverySteps(50).build();
        try (LanguageModel base = tinyLlama()) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).loraAlpha(32)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj").loraDropout(0).build());
            int before = correct(model, questions, answers);
            TrainResult result = SftTrainer.builder().model(model).config(cfg).trainData(data)
                    .padTokenId(ByteLevelTokenizer.PAD).build().train();
            int after = correct(model, questions, answers);
            System.out.printf("exact answers: %d/%d before, %d/%d after %d steps (loss %.4f)%n", before, PAIRS, after, PAIRS,
                    result.steps(), result.finalLoss());
            assertTrue(before <= 1, "the base model should not know the answers: " + before);
            assertTrue(after >= 0.9 * PAIRS, "only " + after + " of " + PAIRS + " answers learned");
        }
    }

    /** Greedy answers (4 tokens after the chat prompt) equal to the expected ones. */
    private static int correct(PeftModel model, List<String> questions, List<String> answers) {
        int ok = 0;
        for (int i = 0; i < questions.size(); i++) {
            long[] prompt = TOK.encodeChat(List.of(ChatMessage.user(questions.get(i))), true);
            long[] out = Generator.generate(model.base(), prompt, GenerationConfig.greedy(4));
            ok += Arrays.equals(Arrays.copyOfRange(out, prompt.length, out.length), TOK.encode(answers.get(i))) ? 1 : 0;
        }
        return ok;
    }

    /** Byte-level vocabulary (259), hidden 64, 64 positions. */
    private static LanguageModel tinyLlama() {
        return TrainTestSupport.tinyLlama(ByteLevelTokenizer.VOCAB_SIZE, 64, 64);
    }

    private static char letter(SplittableRandom random) {
        return (char) ('a' + random.nextInt(26));
    }
}
