package dev.finetune4j.gguf;

import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table of llama.cpp's graphs against the architectures the decoders export to. */
class LlamaCppArchitecturesTest {
    /**
     * One row for every architecture a model_type exports to, and for granitehybrid (a granitemoehybrid with Mamba-2
     * layers) and nemotron_h_moe (a nemotron_h with mixture layers), and none that no export reaches.
     */
    @Test
    void theTableHasARowForEveryExportedArchitectureAndNoOther() {
        Set<String> exported = new TreeSet<>(DecoderHyperparameters.ARCHITECTURES.values());
        exported.add(LlamaCppArchitectures.GRANITE_HYBRID);
        exported.add(LlamaCppArchitectures.NEMOTRON_H_MOE);
        assertEquals(exported, new TreeSet<>(LlamaCppArchitectures.names()));
    }

    @Test
    void anArchitectureWithoutARowIsRefusedNamingTheTable() {
        String message = assertThrows(IllegalArgumentException.class, () -> LlamaCppArchitectures.of("falcon"))
                .getMessage();
        assertTrue(message.contains("'falcon'") && message.contains("add its row to LlamaCppArchitectures"), message);
    }
}
