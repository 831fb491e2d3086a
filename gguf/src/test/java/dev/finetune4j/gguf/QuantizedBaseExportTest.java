package dev.finetune4j.gguf;

import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model loaded in NF4 (a QLoRA base) exports the values it computes with: its GGUF is byte for byte the GGUF of
 * the float model whose quantized weights were set to their NF4 values, whether the file stores a weight as it is,
 * transposed, in parts or per expert of a stacked weight (gpt-oss).
 */
class QuantizedBaseExportTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen2-bytebpe-f32", "gptoss-bytebpe-f32"})
    void anNf4ModelExportsItsDequantizedWeights(String name, @TempDir Path tmp) throws Exception {
        ReferenceCase c = ReferenceCase.byName().get(name);
        Path folder = Files.createDirectories(tmp.resolve("model"));
        try (LanguageModel seeded = c.model()) {
            Files.writeString(folder.resolve("config.json"), c.configJson().toString());
            SafetensorsWriter.write(folder.resolve("model.safetensors"), seeded.stateDict(), Map.of("format", "pt"));
        }
        try (HfTokenizer tokenizer = c.loadTokenizer(tmp.resolve("tok"));
             LanguageModel nf4 = AutoModel.loadCausalLM(folder, LoadOptions.builder().quantization(Quantization.NF4).build());
             LanguageModel rounded = AutoModel.loadCausalLM(folder)) {
            int quantized = 0;
            for (var e : nf4.stateDict().entrySet()) {
                if (e.getValue().dtype() == DType.NF4) {
                    try (TensorScope scope = TensorScope.open()) {
                        rounded.stateDict().get(e.getKey()).copyFrom(e.getValue().convertTo(DType.F32, scope).toFloatArray());
                    }
                    quantized++;
                }
            }
            assertTrue(quantized > 0, "the NF4 load quantizes the linear weights");
            Path fromNf4 = GgufExporter.export(nf4, tokenizer, tmp.resolve("nf4.gguf"), GgufType.F32);
            Path fromRounded = GgufExporter.export(rounded, tokenizer, tmp.resolve("rounded.gguf"), GgufType.F32);
            assertArrayEquals(Files.readAllBytes(fromRounded), Files.readAllBytes(fromNf4));
        }
    }
}
