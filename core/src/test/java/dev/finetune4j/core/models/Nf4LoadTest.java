package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading with NF4 quantizes each linear weight (not lm_head's) from the file into its NF4 tensor, allocates nothing
 * else, and gives the logits of quantizing the same weights after a plain load.
 */
class Nf4LoadTest {
    private static final long[][] IDS = {{5, 17, 3, 9, 12, 40, 2, 7}};

    @Test
    void linearWeightsAreQuantizedAsTheyAreRead(@TempDir Path tmp) throws Exception {
        Path bf16 = rewriteAsBf16(ReferenceData.resource("hf-tiny/llama"), tmp.resolve("bf16"));
        LoadOptions nf4 = LoadOptions.builder().device(Device.cpu()).quantization(Quantization.NF4).build();
        LoadOptions f32 = LoadOptions.builder().device(Device.cpu()).dtype(DType.F32).build();
        try (LanguageModel loaded = AutoModel.loadCausalLM(bf16, nf4);
             LanguageModel reference = AutoModel.loadCausalLM(bf16, f32)) {
            long nf4Bytes = 0;
            int quantized = 0;
            for (Map.Entry<String, Tensor> e : loaded.stateDict().entrySet()) {
                String name = e.getKey();
                boolean linear = name.endsWith("_proj.weight");
                assertEquals(linear ? DType.NF4 : DType.BF16, e.getValue().dtype(), name);
                if (linear) {
                    nf4Bytes += DType.NF4.bytesFor(e.getValue().numel());
                    quantized++;
                }
            }
            assertEquals(14, quantized, "7 projections x 2 layers; embeddings, norms and lm_head stay bf16");
            assertEquals(nf4Bytes, loaded.parameterScope().allocatedBytes(), "nothing but the NF4 weights is allocated");
            reference.namedModules().forEach((path, m) -> {
                if (m instanceof Linear l && !path.equals("lm_head")) {
                    l.setParameter("weight", l.weight().convertTo(DType.NF4, reference.parameterScope()));
                }
            });
            float[][] expected = reference.logits(IDS, null)[0];
            float[][] actual = loaded.logits(IDS, null)[0];
            double worst = 0;
            for (int t = 0; t < expected.length; t++) {
                for (int v = 0; v < expected[t].length; v++) {
                    worst = Math.max(worst, Math.abs(expected[t][v] - actual[t][v]));
                }
            }
            assertTrue(worst < 1e-5, "largest logit difference " + worst);
        }
    }

    /** A copy of model folder {@code from} with every weight in bf16. */
    private static Path rewriteAsBf16(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(from); var scope = TensorScope.detached()) {
            Map<String, Tensor> converted = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                converted.put(name, ckpt.tensor(name).convertTo(DType.BF16, scope));
            }
            SafetensorsWriter.write(to.resolve("model.safetensors"), converted, Map.of("format", "pt"));
        }
        return to;
    }
}
