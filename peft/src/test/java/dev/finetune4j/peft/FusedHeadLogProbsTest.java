package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PeftModel#tokenLogProbs}, what the SFT and DPO objectives use, against {@code CrossEntropy} of
 * {@link PeftModel#forward}'s logits: equal values and gradients of every trainable tensor through the base's head
 * (LoRA, prompt tuning's dropped virtual positions; these inputs fit in one chunk, so the head keeps their logits and
 * the fused op itself is checked in core's LinearCrossEntropyTest and FusedHeadLossTest), with a LoRA-wrapped lm_head (the unfused fallback), and with a
 * trainable lm_head (its gradient summed chunk by chunk: within 1e-6 of its largest value).
 */
class FusedHeadLogProbsTest {
    private static final long[][] IDS = {{5, 17, 33, 2, 90, 41, 7, 64, 12}, {9, 3, 77, 120, 8, 55, 31, 19, 100}};
    private static final int[] LABELS = labels();

    enum Method {
        LORA(b -> Peft.wrap(b, lora("q_proj", "v_proj"))),
        LORA_ON_LM_HEAD(b -> Peft.wrap(b, lora("q_proj", "lm_head"))),
        PROMPT(b -> Peft.wrap(b, PromptTuningConfig.of(3))),
        TRAINABLE_LM_HEAD(b -> Peft.wrap(b, new FreezeConfig(1, List.of("lm_head"), null)));

        final Function<LanguageModel, PeftModel> wrap;

        Method(Function<LanguageModel, PeftModel> wrap) {
            this.wrap = wrap;
        }

        private static LoraConfig lora(String... targets) {
            return LoraConfig.builder().r(4).loraAlpha(8).targetModules(targets).loraDropout(0).build();
        }
    }

    private static int[] labels() {
        int[] labels = new int[IDS.length * IDS[0].length];
        for (int b = 0; b < IDS.length; b++) {
            for (int t = 0; t < IDS[b].length; t++) {
                boolean last = t == IDS[b].length - 1;
                labels[b * IDS[b].length + t] = last || t == 1 ? CrossEntropy.IGNORE_INDEX : (int) IDS[b][t + 1];
            }
        }
        return labels;
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void fusedLogProbsEqualTheLogitsPath(Method method) {
        Map<String, float[]> unfused = step(method, m -> {
            Tensor logits = m.forward(ModelInput.of(IDS, null));
            return CrossEntropy.tokenLogProbs(logits.reshape(LABELS.length, logits.dim(2)), LABELS);
        });
        Map<String, float[]> fused = step(method, m -> m.tokenLogProbs(ModelInput.of(IDS, null), LABELS));
        assertEquals(unfused.keySet(), fused.keySet());
        for (var e : unfused.entrySet()) {
            if (e.getKey().endsWith("lm_head.weight")) {
                assertClose(e.getValue(), fused.get(e.getKey()), method + " " + e.getKey());
            } else {
                assertArrayEquals(e.getValue(), fused.get(e.getKey()), method + " " + e.getKey());
            }
        }
    }

    /** The log-probabilities and the gradient of every trainable tensor after one backward of their mean. */
    private static Map<String, float[]> step(Method method, Function<PeftModel, Tensor> logProbs) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"));
             var scope = TensorScope.open()) {
            PeftModel model = method.wrap.apply(base);
            Tensor lp = logProbs.apply(model);
            Autograd.backward(CrossEntropy.lossFromLogProbs(lp, LABELS));
            Map<String, float[]> out = new TreeMap<>();
            out.put("logProbs", lp.toFloatArray());
            model.trainableParameters().forEach((name, p) -> out.put(name, p.grad().toFloatArray()));
            assertTrue(out.size() > 1, method + " trains something");
            return out;
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double maxAbs = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(maxDiff <= 1e-6 * maxAbs, what + ": largest difference " + maxDiff + " of " + maxAbs);
    }
}
