package dev.finetune4j.eval;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HiddenStateEmbedderTest {

    @Test
    void embeddingIsTheMeanOfTheFinalHiddenStates() throws Exception {
        Path dir = Path.of(getClass().getResource("/hf-tiny/llama").toURI());
        try (LanguageModel lm = AutoModel.loadCausalLM(dir)) {
            ByteLevelTokenizer tok = new ByteLevelTokenizer();
            float[][] e = new HiddenStateEmbedder(lm, tok, 64).embed(List.of("abc", "xyz"));
            assertEquals(2, e.length);
            assertEquals(64, e[0].length);
            // Independent check: average the hidden-state rows by hand.
            float[] h;
            try (var s = TensorScope.open(); var ng = Autograd.noGrad()) {
                h = lm.hiddenStates(ModelInput.of(new long[][]{{'a', 'b', 'c'}}, null)).toFloatArray();
            }
            for (int j = 0; j < 64; j++) {
                assertEquals((h[j] + h[64 + j] + h[128 + j]) / 3, e[0][j], 1e-5);
            }
        }
    }
}
