package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes a LoRA adapter trained-looking (random A and B, rsLoRA off, r 8, alpha 16, q/k/v/o + MLP) for
 * hf-tiny/llama into {@code peft/target/interop/llama-lora}, with {@code expected.safetensors} holding the inputs
 * and this library's logits, for the Python PEFT check on the GPU machine
 * ({@code python3 peft/src/test/python/interop_check.py peft/target/interop/llama-lora <hf-tiny/llama>}).
 */
class InteropExportTest {

    @Test
    void exportLlamaLoraAdapter() throws Exception {
        Path out = Path.of("target", "interop", "llama-lora").toAbsolutePath();
        long[][] ids = Fixtures.ids("llama", "input_ids");
        long[][] mask = Fixtures.ids("llama", "attention_mask");
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                    .initLoraWeights(LoraInit.RANDOM).build(), 2026);
            m.save(out);
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                Map<String, Tensor> expected = new LinkedHashMap<>();
                expected.put("input_ids", longs(ids));
                expected.put("attention_mask", longs(mask));
                expected.put("logits", m.forward(ModelInput.of(ids, null)));
                expected.put("logits_masked", m.forward(ModelInput.of(ids, mask)));
                SafetensorsWriter.write(out.resolve("expected.safetensors"), expected, Map.of("producer", "finetune4j"));
            }
        }
        System.out.println("interop adapter written to " + out);
        assertTrue(out.resolve("adapter_model.safetensors").toFile().isFile());
    }

    private static Tensor longs(long[][] v) {
        Tensor t = Tensor.zeros(TensorScope.current(), DType.I64, Shape.of(v.length, v[0].length));
        for (int i = 0; i < v.length; i++) {
            for (int j = 0; j < v[0].length; j++) {
                t.storage().setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, (long) i * v[0].length + j, v[i][j]);
            }
        }
        return t;
    }
}
