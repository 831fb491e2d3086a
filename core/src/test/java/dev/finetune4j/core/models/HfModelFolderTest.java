package dev.finetune4j.core.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A saved folder reloads to the same logits and carries the source folder's config and tokenizer files. */
class HfModelFolderTest {

    @Test
    void savesWeightsConfigAndTokenizerFilesOfTheSourceFolder(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        try (Stream<Path> files = Files.list(Path.of(HfModelFolderTest.class.getResource("/hf-tiny/llama").toURI()))) {
            for (Path f : files.toList()) {
                Files.copy(f, src.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.writeString(src.resolve("tokenizer.json"), "{\"stand-in\": true}");
        long[][] ids = {{1, 5, 9, 200}};
        try (LanguageModel model = AutoModel.loadCausalLM(src)) {
            float[][][] before = model.logits(ids, null);
            HfModelFolder.save(model, tmp.resolve("out"));
            try (LanguageModel again = AutoModel.loadCausalLM(tmp.resolve("out"))) {
                assertArrayEquals(before[0][3], again.logits(ids, null)[0][3]);
            }
        }
        assertEquals(Files.readString(src.resolve("tokenizer.json")), Files.readString(tmp.resolve("out/tokenizer.json")));
        assertTrue(Files.isRegularFile(tmp.resolve("out/config.json")));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(2, left.count(), "no temporary folder left beside the output");
        }
    }

    @Test
    void savingIntoTheModelsOwnFolderOrOneAboveItIsRefusedAndLeavesItIntact(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectories(tmp.resolve("models").resolve("llama"));
        try (Stream<Path> files = Files.list(Path.of(HfModelFolderTest.class.getResource("/hf-tiny/llama").toURI()))) {
            for (Path f : files.toList()) {
                Files.copy(f, src.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        byte[] weights = Files.readAllBytes(src.resolve("model.safetensors"));
        try (LanguageModel model = AutoModel.loadCausalLM(src)) {
            for (Path target : List.of(src, tmp.resolve("models"))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfModelFolder.save(model, target));
                assertTrue(e.getMessage().contains("the model's own folder"), e.getMessage());
            }
        }
        assertArrayEquals(weights, Files.readAllBytes(src.resolve("model.safetensors")));
    }

    @Test
    void aModelBuiltInMemoryNeedsItsConfig() throws Exception {
        try (LanguageModel model = AutoModel.newCausalLM(AutoModel.readConfig(
                Path.of(HfModelFolderTest.class.getResource("/hf-tiny/llama").toURI())), dev.finetune4j.core.tensor.TensorScope.detached())) {
            assertThrows(IllegalArgumentException.class, () -> HfModelFolder.save(model, Path.of("unused")));
        }
    }
}
