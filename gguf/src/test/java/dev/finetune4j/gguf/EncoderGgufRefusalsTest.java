package dev.finetune4j.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The encoder classifiers and types llama.cpp would not compute as finetune4j does are refused, leaving no file. */
class EncoderGgufRefusalsTest {
    @Test
    void distilBertsReluHeadIsRefused(@TempDir Path tmp) throws Exception {
        String message = refusal(tmp, "references/distilbert_cls", "tokenizer/bert-wordpiece",
                List.of("tokenizer.json", "tokenizer_config.json"), GgufType.F16);
        assertTrue(message.contains("DistilBERT's pre_classifier applies ReLU") && message.contains("ONNX"), message);
    }

    @Test
    void kQuantMixesAreRefusedForEncoders(@TempDir Path tmp) throws Exception {
        String message = refusal(tmp, "references/bert_pair_cls", "tokenizer/bert-wordpiece",
                List.of("tokenizer.json", "tokenizer_config.json"), GgufType.Q4_K_M);
        assertTrue(message.contains("f32, f16, bf16 or q8_0"), message);
    }

    /** A unigram vocabulary with a piece twice ('s', a word's end and a letter), which llama.cpp cannot load. */
    @Test
    void unigramPiecesTwiceAreRefused(@TempDir Path tmp) throws Exception {
        String message = refusal(tmp, "references/xlm_roberta_cls", "tokenizer/xlmr-unigram",
                List.of("tokenizer.json"), GgufType.F16);
        assertTrue(message.contains("piece 's' is both id 13 and id 38"), message);
    }

    /**
     * XLM-RoBERTa's tokenizer (the NFKC one LlamaCppEncoderReferenceTest exports) with one part changed to what
     * llama.cpp's unigram tokenizer would not reproduce.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "/normalizer|{\"type\": \"Lowercase\"}|normalizer",
            "/pre_tokenizer|{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"first\"}|pre-tokenizer",
            "/post_processor|{\"type\": \"BertProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0]}|post-processor",
            "/model/byte_fallback|true|no byte fallback",
            "/model/vocab/30|[\"\u2581help\u2581me\", -2.5]|holds \u2581 inside it"})
    void unigramTokenizersLlamaCppWouldNotReproduceAreRefused(String pointer, String replacement, String expected,
                                                               @TempDir Path tmp) throws Exception {
        Path folder = ReferenceFolders.copy("tokenizer/xlmr-unigram-nfkc", List.of("tokenizer.json"),
                tmp.resolve("tokenizer"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode spec = (ObjectNode) json.readTree(folder.resolve("tokenizer.json").toFile());
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = spec.at(pointer.substring(0, slash));
        String last = pointer.substring(slash + 1);
        JsonNode value = json.readTree(replacement);
        if (parent instanceof ArrayNode array) {
            array.set(Integer.parseInt(last), value);
        } else {
            ((ObjectNode) parent).set(last, value);
        }
        json.writeValue(folder.resolve("tokenizer.json").toFile(), spec);
        String message = refusal(tmp, "references/xlm_roberta_cls", folder, GgufType.F32);
        assertTrue(message.contains(expected) && message.contains("ONNX"), message);
    }

    private static String refusal(Path tmp, String model, String tokenizer, List<String> files, GgufType type)
            throws Exception {
        return refusal(tmp, model, ReferenceFolders.copy(tokenizer, files, tmp.resolve("tokenizer")), type);
    }

    /** The export's refusal of {@code model} with the tokenizer.json (and config) of folder {@code tokenizer}. */
    private static String refusal(Path tmp, String model, Path tokenizer, GgufType type) throws Exception {
        Path folder = ReferenceFolders.copy(model, List.of("config.json", "model.safetensors"), tmp.resolve("model"));
        try (var files = Files.list(tokenizer)) {
            for (Path f : files.toList()) {
                Files.copy(f, folder.resolve(f.getFileName()));
            }
        }
        Path file = tmp.resolve("out.gguf");
        try (EncoderClassifier classifier = EncoderReferenceCase.classifier(folder);
             HfTokenizer tok = HfTokenizer.load(folder)) {
            String message = assertThrows(IllegalArgumentException.class,
                    () -> GgufExporter.export(classifier, tok, file, type, GgufProgress.NONE)).getMessage();
            assertFalse(Files.exists(file), "a refused export left " + file);
            return message;
        }
    }
}
