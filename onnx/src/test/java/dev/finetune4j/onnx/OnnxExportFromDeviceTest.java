package dev.finetune4j.onnx;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A model on a device whose memory only its backend can reach (core's test-only opaque backend, standing in for a
 * GPU) exports the same bytes as on the CPU: the exporter reads weights through the backend, never around it.
 */
class OnnxExportFromDeviceTest {

    @Test
    void aModelOnAnotherDeviceExportsTheSameFiles(@TempDir Path tmp) throws Exception {
        Path cpu = export(Device.cpu(), tmp.resolve("cpu"));
        Path opaque = export(OpaqueBackendProvider.device(), tmp.resolve("opaque"));
        for (String file : new String[] {OnnxExporter.MODEL_FILE, OnnxExporter.DATA_FILE}) {
            assertArrayEquals(Files.readAllBytes(cpu.resolve(file)), Files.readAllBytes(opaque.resolve(file)), file);
        }
    }

    private static Path export(Device device, Path folder) throws Exception {
        try (LanguageModel model = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/qwen2"),
                LoadOptions.builder().device(device).build())) {
            assertEquals(device, model.stateDict().get("model.embed_tokens.weight").device());
            return OnnxExporter.export(model, folder).getParent();
        }
    }
}
