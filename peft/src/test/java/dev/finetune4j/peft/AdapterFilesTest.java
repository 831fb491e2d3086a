package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An adapter folder read without a model ({@link AdapterFiles}, what the inference engine does before it takes its
 * model) loads as the folder itself does, onto as many models as wanted, and a broken folder fails at the read.
 */
class AdapterFilesTest {
    private static final Path LORA = Fixtures.dir("llama").resolve("lora");

    @Test
    void anAdapterReadBeforehandLoadsAsTheFolderDoes() {
        try (LanguageModel fromFolder = AutoModel.loadCausalLM(Fixtures.dir("llama"));
             LanguageModel fromFiles = AutoModel.loadCausalLM(Fixtures.dir("llama"));
             LanguageModel second = AutoModel.loadCausalLM(Fixtures.dir("llama"));
             AdapterFiles files = AdapterFiles.read(LORA)) {
            Map<String, Tensor> expected = Peft.load(fromFolder, LORA).adapterTensors();
            assertEquals(LORA, files.dir());
            for (LanguageModel base : new LanguageModel[]{fromFiles, second}) {
                Map<String, Tensor> loaded = Peft.load(base, files).adapterTensors();
                assertEquals(expected.keySet(), loaded.keySet());
                expected.forEach((name, t) -> assertArrayEquals(t.toFloatArray(), loaded.get(name).toFloatArray(), name));
            }
        }
    }

    @Test
    void aBrokenFolderFailsAtTheReadWithoutAModel(@TempDir Path tmp) throws IOException {
        Path truncated = Fixtures.adapterWith("llama/lora", tmp.resolve("truncated"), Map.of());
        Path weights = truncated.resolve("adapter_model.safetensors");
        Files.write(weights, java.util.Arrays.copyOf(Files.readAllBytes(weights), 100));
        PeftException e = assertThrows(PeftException.class, () -> AdapterFiles.read(truncated));
        assertTrue(e.getMessage().contains("adapter_model.safetensors"), e.getMessage());
        PeftException missing = assertThrows(PeftException.class, () -> AdapterFiles.read(tmp.resolve("nothing")));
        assertTrue(missing.getMessage().contains("nothing"), missing.getMessage());
    }
}
