package dev.finetune4j.samples.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole quickstart pipeline with few steps ({@link QuickstartSettings#smoke()}): every stage runs and writes its
 * artifacts; a second run, in bf16-mixed, reuses the cached base model and computes other numbers. The numbers of
 * such a short run mean nothing, so only their presence (and that the precision changed them) is checked.
 */
class QuickstartSmokeTest {
    @TempDir
    Path dir;

    @Test
    void everyStageRunsAndWritesItsArtifacts() throws Exception {
        Workspace ws = new Workspace(dir.resolve("run"));
        String first = run(ws);
        assertTrue(first.contains("pretraining the base model"), first);
        assertTrue(first.contains("before/after on the test split"), first);
        assertTrue(first.contains("gate:"), first);
        for (Path p : new Path[]{ws.data().resolve("manifest.json"), ws.data().resolve("quarantine.jsonl"),
                ws.preference().resolve("dpo_pairs.jsonl"), ws.adapter().resolve("adapter_config.json"),
                ws.adapter().resolve("adapter_model.safetensors"), ws.merged().resolve("config.json"),
                ws.merged().resolve("model.safetensors"), ws.merged().resolve("tokenizer.json"), ws.reportHtml(),
                ws.resultsJson()}) {
            assertTrue(Files.isRegularFile(p), "missing " + p);
        }
        String report = Files.readString(ws.reportHtml());
        assertTrue(report.contains("<h3>LoRA SFT") && report.contains("<h3>DPO") && report.contains("Sample answers"), report);
        JsonNode results = new ObjectMapper().readTree(ws.resultsJson().toFile());
        assertEquals(3, results.get("metrics").size(), results.toString());
        assertTrue(results.get("metrics").get("base").has("drs"), results.toString());
        double adapter = results.get("metrics").get("sft+dpo").get("perplexity").asDouble();
        double merged = results.get("merged_perplexity").asDouble();
        assertEquals(adapter, merged, 1e-3 * adapter, "the merged model must compute what the adapter model does");

        // the same run in bf16-mixed: the cached base is reused, and the trainers and evaluation compute otherwise
        Workspace bf16 = new Workspace(dir.resolve("run2"));
        String second = run(bf16, Precision.BF16_MIXED);
        assertTrue(second.contains("reusing the cached base model"), second);
        assertFalse(second.contains("pretraining the base model"), second);
        assertTrue(first.contains("device cpu (f32)") && second.contains("device cpu (bf16-mixed)"), second);
        JsonNode mixed = new ObjectMapper().readTree(bf16.resultsJson().toFile());
        assertNotEquals(results.get("sft").asText(), mixed.get("sft").asText(), "SFT trained in the same precision");
        assertNotEquals(adapter, mixed.get("metrics").get("sft+dpo").get("perplexity").asDouble());
    }

    private String run(Workspace ws) throws Exception {
        return run(ws, Precision.F32);
    }

    private String run(Workspace ws, Precision precision) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            new QuickstartRun(QuickstartSettings.smoke(), ws, dir.resolve("base"), Device.cpu(), precision, out).run();
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
