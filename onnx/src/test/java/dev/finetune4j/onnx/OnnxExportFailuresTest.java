package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.Gemma3MultimodalFolders;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderLayout;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An export that cannot be done says why, and leaves the file system as it was; a complete one replaces a previous export. */
class OnnxExportFailuresTest {

    @Test
    void anUnsupportedFamilyIsRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        try (LanguageModel model = new OtherFamily()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(model, tmp.resolve("onnx")));
            assertTrue(e.getMessage().contains("supports the decoder family") && e.getMessage().contains("'mamba'"), e.getMessage());
            assertEquals(List.of(), entries(tmp));
        }
    }

    /** A graph of Gemma 3's language model alone would drop the checkpoint's vision tower: refused with what to use. */
    @Test
    void theLanguageModelOfAVisionLanguageCheckpointIsRefused(@TempDir Path tmp) throws IOException {
        Path folder = Gemma3MultimodalFolders.write(tmp.resolve("gemma3"), Gemma3MultimodalFolders.Names.TRANSFORMERS_5);
        try (LanguageModel model = AutoModel.loadCausalLM(folder)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(model, tmp.resolve("onnx")));
            assertTrue(e.getMessage().contains("without its vision tower") && e.getMessage().contains("finetune4j merge"),
                    e.getMessage());
        }
        assertEquals(List.of("gemma3"), entries(tmp));
    }

    @Test
    void anUnmergedAdapterFailsHalfwayAndLeavesTheOldFolderAsItWas(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("onnx");
        Files.createDirectories(target);
        Files.writeString(target.resolve(OnnxExporter.MODEL_FILE), "an earlier export");
        try (LanguageModel base = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/llama"))) {
            PeftModel adapted = Peft.load(base, OnnxExporterTest.resource("hf-tiny/llama/lora"));
            // the embeddings and the first norm are written before the LoRA-wrapped q_proj is reached
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(adapted.base(), target));
            assertTrue(e.getMessage().contains("q_proj.weight") && e.getMessage().contains("mergeAndUnload"), e.getMessage());
        }
        assertEquals(List.of("onnx"), entries(tmp), "no temporary folder is left beside the target");
        assertEquals(List.of(OnnxExporter.MODEL_FILE), entries(target));
        assertEquals("an earlier export", Files.readString(target.resolve(OnnxExporter.MODEL_FILE)));
    }

    @Test
    void aCompleteExportReplacesAnEarlierExport(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("onnx");
        Files.createDirectories(target);
        Files.writeString(target.resolve(OnnxExporter.MODEL_FILE), "an earlier export");
        try (LanguageModel model = AutoModel.loadCausalLM(OnnxExporterTest.resource("hf-tiny/gpt2"))) {
            assertEquals(target.resolve(OnnxExporter.MODEL_FILE), OnnxExporter.export(model, target));
        }
        assertEquals(List.of("onnx"), entries(tmp));
        assertEquals(List.of(OnnxExporter.MODEL_FILE, OnnxExporter.DATA_FILE), entries(target));
    }

    /**
     * A decoder whose model_type the graph does not list (a family core may gain later, with switches of its own) is
     * refused rather than exported as the nearest family it resembles.
     */
    @Test
    void aDecoderOfAFamilyTheGraphDoesNotListIsRefused(@TempDir Path tmp) throws IOException {
        ObjectNode json;
        try (InputStream in = OnnxExportFailuresTest.class.getResourceAsStream("/references/gemma2/config.json")) {
            json = (ObjectNode) new ObjectMapper().readTree(in);
        }
        DecoderConfig config = DecoderConfig.fromJson(json.put("model_type", "gemma4"));
        try (LanguageModel model = new DecoderModel(TensorScope.detached(), config)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(model, tmp.resolve("onnx")));
            assertTrue(e.getMessage().contains("supports the decoder family") && e.getMessage().contains("'gemma4'")
                    && e.getMessage().contains("mixtures of experts") && e.getMessage().contains("qwen3_moe"),
                    e.getMessage());
        }
        assertEquals(List.of(), entries(tmp));
    }

    /**
     * The language model of Gemma 4's vision-language checkpoints (Gemma4ForConditionalGeneration, every published
     * Gemma 4) is refused as Gemma 3's is, naming the text-only gemma4_text that does export.
     */
    @Test
    void gemma4sVisionLanguageCheckpointIsRefusedNamingTheTextModelThatExports(@TempDir Path tmp) throws IOException {
        ObjectNode json;
        try (InputStream in = OnnxExportFailuresTest.class.getResourceAsStream("/references/gemma4_text/config.json")) {
            json = (ObjectNode) new ObjectMapper().readTree(in);
        }
        try (LanguageModel model = new DecoderModel(TensorScope.detached(), DecoderConfig.fromJson(json),
                DecoderLayout.GEMMA4_CONDITIONAL_GENERATION)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.export(model, tmp.resolve("onnx")));
            assertTrue(e.getMessage().contains("(model_type 'gemma4')") && e.getMessage().contains("without its vision tower")
                    && e.getMessage().contains("gemma4_text"), e.getMessage());
        }
        assertEquals(List.of(), entries(tmp));
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A language model of a family the exporter does not know. */
    private static final class OtherFamily extends LanguageModel {
        OtherFamily() {
            super(TensorScope.detached(), new ModelSpec("mamba", 16, 8, 1, 1, 1, 8, 32, true));
        }

        @Override
        public Tensor embed(long[][] ids) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected Tensor hiddenStates(Tensor inputsEmbeds, ForwardContext ctx) {
            throw new UnsupportedOperationException();
        }

        @Override
        protected Tensor logitsFromHidden(Tensor hidden) {
            throw new UnsupportedOperationException();
        }
    }
}
