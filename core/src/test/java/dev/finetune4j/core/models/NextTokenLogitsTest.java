package dev.finetune4j.core.models;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link LanguageModel#nextTokenLogits}, the output head run on the last position alone, against the last position
 * of {@link LanguageModel#forward}'s logits: equal bit for bit in each family and precision, for a batch with a
 * left-padded row.
 */
class NextTokenLogitsTest {
    private static final long[][] IDS = {{0, 0, 0, 5, 17, 3}, {8, 40, 2, 9, 12, 33}};
    private static final long[][] MASK = {{0, 0, 0, 1, 1, 1}, {1, 1, 1, 1, 1, 1}};

    @ParameterizedTest
    @CsvSource({"hf-tiny/llama, F32", "hf-tiny/qwen2, F32", "hf-tiny/gpt2, F32", "references/qwen3, F32",
            "hf-tiny/llama, BF16_MIXED", "hf-tiny/gpt2, BF16_MIXED"})
    void theLastPositionsLogitsEqualTheFullForwards(String dir, Precision precision) throws Exception {
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir));
             var scope = TensorScope.open(); var ng = Autograd.noGrad(); var p = precision.use()) {
            ModelInput input = ModelInput.of(IDS, MASK);
            Tensor all = lm.forward(input);
            int last = IDS[0].length - 1;
            Tensor next = lm.nextTokenLogits(input);
            assertEquals(IDS.length, next.dim(0));
            assertEquals(lm.vocabSize(), next.dim(1));
            assertArrayEquals(all.slice(1, last, last + 1).toFloatArray(), next.toFloatArray(), dir + " " + precision);
        }
    }
}
