package dev.finetune4j.gguf;

import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** XLM-RoBERTa's SentencePiece unigram tokenizer is not one the export writes. */
    @Test
    void unigramTokenizersAreRefused(@TempDir Path tmp) throws Exception {
        String message = refusal(tmp, "references/xlm_roberta_cls", "tokenizer/xlmr-unigram",
                List.of("tokenizer.json"), GgufType.F16);
        assertTrue(message.contains("not 'Unigram'"), message);
    }

    private static String refusal(Path tmp, String model, String tokenizer, List<String> files, GgufType type)
            throws Exception {
        Path folder = ReferenceFolders.copy(model, List.of("config.json", "model.safetensors"), tmp.resolve("model"));
        ReferenceFolders.copy(tokenizer, files, folder);
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
