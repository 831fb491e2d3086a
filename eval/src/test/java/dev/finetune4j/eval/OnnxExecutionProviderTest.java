package dev.finetune4j.eval;

import dev.finetune4j.eval.onnx.ExecutionProvider;
import dev.finetune4j.eval.onnx.OnnxCausalLM;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The execution provider choice: CUDA is tried by default and, with the CPU artifact on this build's test class
 * path (no CUDA provider in it, whatever the machine has), the CPU one runs the model and one log line says so and
 * why; {@code cuda(false)} forces the CPU and says that instead.
 */
class OnnxExecutionProviderTest {
    private static final Path MODEL = OnnxModelsTest.resource("onnx/tiny_llama_causal_lm.onnx");

    @Test
    void withoutTheCudaProviderTheCpuOneRunsAndTheLogSaysWhy() {
        String log = capturingStandardError(() -> {
            try (OnnxCausalLM lm = OnnxCausalLM.builder(MODEL).build()) {
                assertEquals(ExecutionProvider.CPU, lm.executionProvider());
                assertEquals(2, lm.logits(new long[][]{{1, 2}}, null)[0].length, "the CPU session runs");
            }
        });
        assertTrue(log.contains("ONNX Runtime: CPU execution provider for tiny_llama_causal_lm.onnx (the CUDA "
                + "execution provider did not load"), log);
        assertTrue(log.contains("the class path has the CPU artifact (onnxruntime), which has no CUDA provider: for the"
                + " GPU use com.microsoft.onnxruntime:onnxruntime_gpu"), log);
        assertEquals(1, log.lines().filter(l -> l.contains("execution provider")).count(), "one line: " + log);
    }

    @Test
    void cudaFalseForcesTheCpuAndSaysSo() {
        String log = capturingStandardError(() -> {
            try (OnnxCausalLM lm = OnnxCausalLM.builder(MODEL).cuda(false).build()) {
                assertEquals(ExecutionProvider.CPU, lm.executionProvider());
            }
        });
        assertTrue(log.contains("ONNX Runtime: CPU execution provider for tiny_llama_causal_lm.onnx (the CPU was "
                + "asked for (cuda(false)))"), log);
    }

    @Test
    void aNegativeDeviceIdIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxCausalLM.builder(MODEL).deviceId(-1));
        assertTrue(e.getMessage().contains("deviceId must be >= 0"), e.getMessage());
        try (OnnxCausalLM lm = OnnxCausalLM.builder(MODEL).deviceId(1).cuda(false).maxPositionEmbeddings(64).build()) {
            assertEquals(ExecutionProvider.CPU, lm.executionProvider(), "the shared setters chain with the model's own");
        }
    }

    /** What SLF4J's simple binding (which writes to the current System.err) logs while {@code work} runs. */
    private static String capturingStandardError(Runnable work) {
        PrintStream original = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            work.run();
        } finally {
            System.setErr(original);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
