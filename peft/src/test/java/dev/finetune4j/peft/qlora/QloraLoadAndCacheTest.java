package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.BaseLinear;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QLoRA beyond the numbers: the parameter report counts the NF4 weights, forward passes add no weights, a merge
 * requantizes into a new weight, and a QLoRA adapter says when it lands on a full-precision base.
 */
class QloraLoadAndCacheTest {
    private static final long[][] IDS = {{1, 5, 9, 200, 3, 77, 12, 8}};
    private static final LoraConfig CFG = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
            .targetModules("q_proj", "v_proj").build();

    @Test
    void reportCountsTheQuantizedWeightsInAllParams() throws Exception {
        try (LanguageModel dense = AutoModel.loadCausalLM(llama()); LanguageModel quantized = AutoModel.loadCausalLM(llama())) {
            PeftModel lora = Peft.wrap(dense, CFG);
            PeftModel qlora = QloraInjector.wrap(quantized, CFG);
            assertEquals(lora.trainableReport(), qlora.trainableReport(), "same model, same adapter: same counts");
        }
    }

    @Test
    void forwardAddsNoWeightsAndRequantizingWritesANewWeight() throws Exception {
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            Linear q = QloraInjector.quantize(base).get("model.layers.0.self_attn.q_proj");
            base.logits(IDS, null);
            long live = base.parameterScope().liveBytes();
            base.logits(IDS, null);
            assertEquals(live, base.parameterScope().liveBytes(), "forward passes allocate no new weights");

            BaseLinear view = BaseLinear.of(q, "q_proj");
            Tensor first = q.weight();
            float[] changed = view.weightOutIn();
            Arrays.fill(changed, 0, 64, 0.5f);
            try (var scope = TensorScope.open()) {
                view.setWeight(Tensor.of(changed, view.outFeatures(), view.inFeatures()));
            }
            assertNotSame(first, q.weight());
            assertEquals(DType.NF4, q.weight().dtype(), "requantized, as PEFT with bitsandbytes does");
            assertArrayEquals(ReferenceNf4.dequantize(ReferenceNf4.quantize(changed)), q.weight().toFloatArray(),
                    "the new values");
            assertTrue(view.restoreWeight());
            assertSame(first, q.weight());
            assertEquals(live, base.parameterScope().liveBytes(), "the replacement is released");
        }
    }

    @Test
    void qloraAdapterWarnsOnAFullPrecisionBaseAndLoadsExactlyOnAQuantizedOne(@TempDir Path tmp) throws Exception {
        float[][][] trained;
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            PeftModel m = QloraInjector.wrap(base, CFG);
            trained = m.logits(IDS, null);
            m.save(tmp.resolve("a"));
        }
        try (LanguageModel dense = AutoModel.loadCausalLM(llama())) {
            PeftModel m = Peft.load(dense, tmp.resolve("a"));
            List<String> warnings = m.loadWarnings();
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.getFirst().contains("NF4") && warnings.getFirst().contains("QloraInjector.load"), warnings.getFirst());
            assertFalse(Arrays.equals(trained[0][0], m.logits(IDS, null)[0][0]), "a full-precision base shifts the logits");
        }
        try (LanguageModel base = AutoModel.loadCausalLM(llama())) {
            PeftModel m = QloraInjector.load(base, tmp.resolve("a"));
            assertEquals(List.of(), m.loadWarnings());
            assertArrayEquals(trained[0][3], m.logits(IDS, null)[0][3]);
        }
    }

    private static Path llama() throws URISyntaxException {
        return Path.of(QloraLoadAndCacheTest.class.getResource("/hf-tiny/llama").toURI());
    }
}
