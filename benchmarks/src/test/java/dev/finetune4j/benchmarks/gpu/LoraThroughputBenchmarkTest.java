package dev.finetune4j.benchmarks.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU benchmark's plumbing on the CPU with the {@code tiny} shape: the JSON line has the anchor's fields,
 * computed from each other as the anchor computes them, and the adapter learns (the loss goes down).
 */
class LoraThroughputBenchmarkTest {

    @Test
    void tinyShapeOnTheCpuPrintsTheAnchorsFieldsAndLearns() {
        BenchmarkOptions o = BenchmarkOptions.parse(List.of("--config", "tiny", "--batch", "2", "--seq", "16",
                "--steps", "6", "--warmup", "1", "--device", "cpu", "--gradient-checkpointing"));
        JsonNode r = LoraThroughputBenchmark.run(o);
        for (String field : List.of("system", "config", "batch", "seq", "gradient_checkpointing", "dora",
                "tokens_per_s", "step_ms", "peak_gib", "mfu", "frozen_params", "final_loss", "device")) {
            assertTrue(r.has(field), "field " + field + " in " + r);
        }
        assertEquals("tiny", r.get("config").asText());
        assertEquals("cpu", r.get("device").asText());
        assertTrue(r.get("gradient_checkpointing").asBoolean());
        // tiny: vocab 512, hidden 64, 2 layers, MLP 176, 4 heads of 16, 2 kv heads, untied head
        long perLayer = 64L * 64 * 2 + 64L * 32 * 2 + 3L * 64 * 176 + 2 * 64;
        assertEquals(512L * 64 * 2 + 2 * perLayer + 64, r.get("frozen_params").asLong());
        double tokens = r.get("tokens_per_s").asDouble();
        assertEquals(2 * 16 / tokens * 1e3, r.get("step_ms").asDouble(), 0.01 + 1e-3 * r.get("step_ms").asDouble());
        assertEquals(4.0 * r.get("frozen_params").asLong() * tokens / 790e12, r.get("mfu").asDouble(), 1e-4);
        assertTrue(r.get("peak_gib").asDouble() > 0, r.toString());
        assertTrue(r.get("final_loss").asDouble() < r.get("first_loss").asDouble(), "the loss goes down: " + r);
    }

    @Test
    void unknownFlagsAndPrecisionsAreRefusedWithTheFix() {
        var e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "tiny", "--fast")));
        assertTrue(e.getMessage().contains("unknown argument '--fast'") && e.getMessage().contains("usage"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "tiny", "--precision", "bf16-mixed")));
        assertTrue(e.getMessage().contains("f32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchmarkOptions.parse(List.of("--config", "gpt-5")));
        assertTrue(e.getMessage().contains("llama-1.1b-shape"), e.getMessage());
    }
}
