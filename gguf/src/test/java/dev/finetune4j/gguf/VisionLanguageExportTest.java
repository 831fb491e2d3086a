package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The language model of a vision-language checkpoint exports as the text GGUF llama.cpp's converter writes beside the
 * vision tower's mmproj file. Its weights sit under {@code model.language_model.*}; drawn in name order they are the
 * text model's weights of the same case (the two namings sort alike), so the export must be, byte for byte, the file
 * llama.cpp read for that case ({@link LlamaCppReferenceTest} compares its logits): Gemma 3's
 * ({@code Gemma3ForConditionalGeneration}, as {@code gemma3}), Gemma 4's (as {@code gemma4}) and Ministral 3's ({@code Mistral3ForConditionalGeneration}
 * over a {@code ministral3} text model, as {@code mistral3}; over a {@code mistral} one, as {@code llama}; over a
 * {@code mistral4} one, as {@code mistral4}), and a LoRA
 * adapter of Ministral 3's. Qwen3-VL's, whose text
 * GGUF llama.cpp reads with the vision tower's position sections, is refused.
 */
class VisionLanguageExportTest {

    @Test
    void gemma3sLanguageModelIsTheTextModelsFile(@TempDir Path tmp) throws Exception {
        assertSameFileAsTextCase("gemma3-spm-f32", wrapped("gemma3", "gemma3-spm-f32"), tmp);
    }

    @Test
    void gemma4sLanguageModelIsTheTextModelsFile(@TempDir Path tmp) throws Exception {
        assertSameFileAsTextCase("gemma4-spm-f32", wrapped("gemma4", "gemma4-spm-f32"), tmp);
    }

    @Test
    void ministral3sLanguageModelIsTheTextModelsFile(@TempDir Path tmp) throws Exception {
        assertSameFileAsTextCase("ministral3-bytebpe-f32", wrapped("mistral3", "ministral3-bytebpe-f32"), tmp);
    }

    /** Mistral Small 4: Mistral 3's class over a {@code mistral4} text model, written as {@code mistral4}. */
    @Test
    void mistralSmall4sLanguageModelIsTheTextModelsFile(@TempDir Path tmp) throws Exception {
        assertSameFileAsTextCase("mistral4-bytebpe-f32", wrapped("mistral3", "mistral4-bytebpe-f32"), tmp);
    }

    /** Mistral Small 3.x: Mistral 3's class over a {@code mistral} text model (no window), written as llama's. */
    @Test
    void mistralSmallsLanguageModelIsTheTextModelsFile(@TempDir Path tmp) throws Exception {
        ObjectNode config = wrapped("mistral3", "llama-spm-f32");
        ((ObjectNode) config.get("text_config")).put("model_type", "mistral").putNull("sliding_window");
        assertSameFileAsTextCase("llama-spm-f32", config, tmp);
    }

    @Test
    void anAdapterOfMinistral3sLanguageModelIsTheTextModelsAdapterFile(@TempDir Path tmp) throws Exception {
        ReferenceCase text = ReferenceCase.byName().get("ministral3-bytebpe-lora-f32");
        ReferenceCase vision = new ReferenceCase(text.name(), wrapped("mistral3", text.name()).toString(), text.tokenizer(),
                text.type(), true);
        try (PeftModel adapted = vision.adapted()) {
            assertTrue(adapted.trainableParameters().keySet().stream()
                    .allMatch(n -> n.startsWith("base_model.model.model.language_model.layers.")));
            // named as LlamaCppReferenceTest names it: the file's name is the adapter's general.name
            Path adapter = GgufExporter.exportLora(adapted, tmp.resolve(text.name() + ".lora.gguf"), GgufType.F32);
            assertEquals(LlamaCppReferenceTest.fixture(text.name()).path("lora").path("sha256").asText(),
                    LlamaCppReferenceTest.sha256(adapter));
        }
    }

    @Test
    void qwen3VlsLanguageModelIsRefused(@TempDir Path tmp) throws Exception {
        ReferenceCase qwen3 = ReferenceCase.byName().get("qwen3-bytebpe-f32");
        ObjectNode config = new ObjectMapper().createObjectNode().put("model_type", "qwen3_vl");
        ObjectNode text = qwen3.configJson().put("model_type", "qwen3_vl_text");
        text.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 10000.0)
                .putArray("mrope_section").add(2).add(3).add(3);
        config.set("text_config", text);
        try (HfTokenizer tokenizer = qwen3.loadTokenizer(tmp.resolve("tok"));
             LanguageModel model = ReferenceCase.model(config)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(model, tokenizer, tmp.resolve("m.gguf"), GgufType.F32));
            assertTrue(e.getMessage().contains("qwen3_vl") && e.getMessage().contains("convert_hf_to_gguf.py"),
                    e.getMessage());
        }
        try (var files = Files.list(tmp)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".gguf")));
        }
    }

    /** {@code checkpointType}'s config.json with the text case's config as its text_config. */
    private static ObjectNode wrapped(String checkpointType, String textCase) throws Exception {
        ObjectNode config = new ObjectMapper().createObjectNode().put("model_type", checkpointType);
        config.set("text_config", ReferenceCase.byName().get(textCase).configJson());
        return config;
    }

    private static void assertSameFileAsTextCase(String textCase, ObjectNode config, Path tmp) throws Exception {
        ReferenceCase text = ReferenceCase.byName().get(textCase);
        try (HfTokenizer tokenizer = text.loadTokenizer(tmp.resolve("tok"));
             LanguageModel model = ReferenceCase.model(config, text.seed())) {
            assertTrue(model.stateDict().keySet().stream().anyMatch(n -> n.startsWith("model.language_model.layers.")));
            Path file = GgufExporter.export(model, tokenizer, tmp.resolve(textCase + ".gguf"), text.type());
            assertEquals(LlamaCppReferenceTest.fixture(textCase).path("sha256").asText(),
                    LlamaCppReferenceTest.sha256(file), textCase + " inside " + config.path("model_type").asText());
        }
    }
}
