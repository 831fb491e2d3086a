package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * LoRA dropout in training mode: its masks follow the model's dropout seed (which the training loop sets per
 * step and micro-batch, so a resumed run redraws them), differ between seeds, and are off in eval mode.
 */
class LoraDropoutTest {

    @Test
    void trainingMasksFollowTheDropoutSeed() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel model = Peft.wrap(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj")
                    .loraDropout(0.5).build());
            SplittableRandom random = new SplittableRandom(3);
            for (Tensor t : model.trainableParameters().values()) {
                float[] values = new float[Math.toIntExact(t.numel())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * 0.5); // lora_B starts at 0, which would hide dropout
                }
                t.copyFrom(values);
            }
            long[][] ids = {{1, 5, 9, 2, 7, 3}};
            float[] eval = Fixtures.flat(model.logits(ids, null));
            model.train(true);
            base.seedDropout(11);
            float[] first = Fixtures.flat(model.logits(ids, null));
            base.seedDropout(11);
            float[] again = Fixtures.flat(model.logits(ids, null));
            base.seedDropout(12);
            float[] otherSeed = Fixtures.flat(model.logits(ids, null));
            assertArrayEquals(first, again, "the same seed draws the same masks");
            assertFalse(Arrays.equals(first, otherSeed), "another seed draws other masks");
            assertFalse(Arrays.equals(first, eval), "training mode drops adapter inputs");
            model.train(false);
            assertArrayEquals(eval, Fixtures.flat(model.logits(ids, null)), "eval mode has no dropout");
        }
    }
}
