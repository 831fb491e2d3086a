package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraLinear;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a DoRA training step keeps until its scope closes, against plain LoRA's on the same model and batch (the
 * bytes its step scope hands out, deterministic), with and without dropout: DoRA adds one (rows, out) float32 array per adapted projection
 * (z = x W^T + s B A x, which the magnitude's gradient needs) and a few (out) vectors, no more. Composed from
 * elementwise ops, with the (out, in) weight W + s B A made for the row norms in the step's scope, it kept nine
 * times that on this model.
 */
class DoraStepMemoryTest {
    private static final int BATCH = 4;
    private static final int TOKENS = 16;

    @ParameterizedTest(name = "lora_dropout={0}")
    @ValueSource(doubles = {0, 0.1})
    void doraStepKeepsLittleMoreThanLoraStep(double dropout) {
        long lora = stepBytes(false, dropout);
        long dora = stepBytes(true, dropout);
        long allowed = 0;
        try (LanguageModel base = EveryMethodTrainsTest.tinyLlama()) {
            PeftModel model = Peft.wrap(base, config(true, dropout));
            for (var module : model.base().namedModules().values()) {
                if (module instanceof LoraLinear l) {
                    int out = l.base().outFeatures();
                    // z (rows, out) in float32, and m / n, n and dm: (out) each
                    allowed += 4L * BATCH * TOKENS * out + 3 * 4L * out;
                }
            }
        }
        System.out.printf("lora_dropout %s, step scope: LoRA %d bytes, DoRA %d bytes (%+d, allowed %d)%n", dropout, lora, dora, dora - lora, allowed);
        assertTrue(dora - lora <= allowed, "DoRA's step keeps " + (dora - lora) + " bytes more than LoRA's, allowed " + allowed);
    }

    private static long stepBytes(boolean dora, double dropout) {
        long[][] ids = new long[BATCH][];
        SplittableRandom random = new SplittableRandom(3);
        for (int b = 0; b < BATCH; b++) {
            ids[b] = random.longs(TOKENS, 1, 64).toArray();
        }
        int[] labels = Arrays.stream(ids).flatMapToLong(Arrays::stream).mapToInt(id -> (int) id).toArray();
        try (LanguageModel base = EveryMethodTrainsTest.tinyLlama()) {
            PeftModel model = Peft.wrap(base, config(dora, dropout));
            model.train(true);
            try (var step = TensorScope.open()) {
                Autograd.backward(Reductions.sum(model.tokenLogProbs(ModelInput.of(ids, null), labels)));
                return step.allocatedBytes();
            }
        }
    }

    private static LoraConfig config(boolean dora, double dropout) {
        return LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "down_proj")
                .loraDropout(dropout).useDora(dora).build();
    }
}
