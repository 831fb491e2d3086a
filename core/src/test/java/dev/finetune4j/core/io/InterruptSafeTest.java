package dev.finetune4j.core.io;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A thread interrupted earlier (a cancelled task, a stopped trainer) can still load a model and write and replace
 * files: file channels used to close themselves on it with a message-less ClosedByInterruptException. The interrupt
 * is still there afterwards.
 */
class InterruptSafeTest {
    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void aModelLoadsOnAnInterruptedThreadThatStaysInterrupted() throws Exception {
        Path dir = Path.of(InterruptSafeTest.class.getResource("/hf-tiny/llama").toURI());
        Thread.currentThread().interrupt();
        try (LanguageModel model = AutoModel.loadCausalLM(dir)) {
            assertTrue(model.spec().vocabSize() > 0);
        }
        assertTrue(Thread.currentThread().isInterrupted(), "the caller's interrupt must survive");
    }

    @Test
    void safetensorsAreWrittenReadAndFoldersReplacedOnAnInterruptedThread(@TempDir Path tmp) throws Exception {
        float[] values = {1f, -2f, 3.5f};
        Path staged = Files.createDirectories(tmp.resolve(".staged"));
        Thread.currentThread().interrupt();
        try (TensorScope scope = TensorScope.open()) {
            SafetensorsWriter.write(staged.resolve("w.safetensors"), Map.of("w", Tensor.of(values, 3)), null);
        }
        AtomicDirectory.replace(staged, tmp.resolve("out"), tmp.resolve(".aside"));
        try (SafetensorsFile file = SafetensorsFile.open(tmp.resolve("out/w.safetensors"))) {
            assertArrayEquals(values, file.tensor("w").toFloatArray());
        }
        assertTrue(Thread.currentThread().isInterrupted(), "the caller's interrupt must survive");
    }
}
