package dev.finetune4j.it.readme;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;
import dev.finetune4j.gguf.GgufExporter;
import dev.finetune4j.gguf.GgufProgress;
import dev.finetune4j.gguf.GgufType;
import dev.finetune4j.gguf.ImportanceMatrix;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.mix.AdapterMix;
import dev.finetune4j.peft.mix.CombinationType;
import dev.finetune4j.peft.mix.MixOptions;
import dev.finetune4j.peft.mix.MixedAdapter;
import dev.finetune4j.peft.mix.WeightedAdapter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** README's GGUF export (of a causal LM, an adapter and a classifier) and adapter mixing, as written, on the tiny fixtures. */
class AdapterReadmeExamplesTest {

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void ggufOfAModelAndOfAnAdapter() throws Exception {
        Path dir = Fixtures.byteBpeModel();
        Fixtures.copyFolder(Path.of("Qwen2.5-0.5B-Instruct"), dir);    // the byte-level BPE tokenizer's files
        Fixtures.copyFolder(Path.of("my-adapter"), Path.of("runs/qa/adapter"));
        // example README.md#9
        try (LanguageModel model = AutoModel.loadCausalLM(dir);          // a Hugging Face folder with its tokenizer.json
             HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            GgufExporter.export(model, tokenizer, Path.of("qwen.gguf"), GgufType.Q4_K_M);   // or IQ4_XS, Q6_K, Q8_0, ...

            // the same mix with its blocks fitted to the inputs your data feeds each matrix (llama-quantize --imatrix)
            List<long[]> calibration = List.of(tokenizer.encode("Refunds are paid within 14 days of the claim."));
            ImportanceMatrix imatrix = ImportanceMatrix.collect(model, calibration);
            GgufExporter.export(model, tokenizer, Path.of("qwen-imatrix.gguf"), GgufType.Q4_K_M, imatrix, GgufProgress.NONE);
        }
        // end example
        // example README.md#10
        try (PeftModel adapted = Peft.load(AutoModel.loadCausalLM(dir), Path.of("runs/qa/adapter"))) {
            GgufExporter.exportLora(adapted, Path.of("qa-lora.gguf"), GgufType.F16);
        }
        // end example
        for (String file : List.of("qwen.gguf", "qwen-imatrix.gguf", "qa-lora.gguf")) {
            byte[] magic = Arrays.copyOf(Files.readAllBytes(Path.of(file)), 4);
            assertEquals("GGUF", new String(magic, StandardCharsets.US_ASCII), file);
        }
    }

    @Test
    void ggufOfAClassifier() throws Exception {
        Path dir = Fixtures.tinyClassifier();
        // example README.md#11
        try (SequenceClassifierModule clf = AutoModel.loadSequenceClassifier(dir); HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            GgufExporter.export((EncoderClassifier) clf, tokenizer, Path.of("intent.gguf"), GgufType.F16, GgufProgress.NONE);
        }
        // end example
        byte[] magic = Arrays.copyOf(Files.readAllBytes(Path.of("intent.gguf")), 4);
        assertEquals("GGUF", new String(magic, StandardCharsets.US_ASCII));
    }

    @Test
    void mixTwoAdapters() throws Exception {
        Fixtures.copyFolder(Path.of("my-adapter"), Path.of("adapters/legal"));
        Fixtures.copyFolder(Path.of("my-adapter"), Path.of("adapters/support"));
        Fixtures.delete(Path.of("adapters/legal+support"));
        // example README.md#17
        try (AdapterFiles legal = AdapterFiles.read(Path.of("adapters/legal"));
             AdapterFiles support = AdapterFiles.read(Path.of("adapters/support"))) {
            MixedAdapter both = AdapterMix.combine(
                    List.of(new WeightedAdapter(legal, 0.7), new WeightedAdapter(support, 0.3)),
                    CombinationType.TIES, MixOptions.builder().density(0.5).build());
            both.save(Path.of("adapters/legal+support"));     // PEFT's format: adapter_config.json + adapter_model.safetensors
        }
        // end example
        try (PeftModel mixed = Peft.load(AutoModel.loadCausalLM(Fixtures.tinyLlama()), Path.of("adapters/legal+support"))) {
            assertTrue(mixed.adapterTensors().keySet().stream().anyMatch(n -> n.contains("lora_A")), "loads as LoRA");
        }
    }
}
