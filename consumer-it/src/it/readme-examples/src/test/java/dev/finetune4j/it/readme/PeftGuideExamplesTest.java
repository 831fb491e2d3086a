package dev.finetune4j.it.readme;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples of peft/README.md, on the tiny LLaMA fixture and the LoRA adapter Python PEFT wrote for it. */
class PeftGuideExamplesTest {
    private static final long[][] IDS = Fixtures.tokenIds(2, 6);
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}};

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void loadAndGenerate() throws Exception {
        long[][] ids = IDS;
        long[][] mask = MASK;
        long[] promptIds = IDS[0];
        // example peft/README.md#1
        try (LanguageModel base = AutoModel.loadCausalLM(Path.of("Qwen2-0.5B"));
             PeftModel tuned = Peft.load(base, Path.of("my-adapter"))) {       // any supported peft_type
            float[][][] logits = tuned.logits(ids, mask);                        // [batch][seq][vocab]
            long[] text = Generator.generate(tuned, promptIds, GenerationConfig.greedy(64));
        }
        // end example
    }

    @Test
    void wrapTrainAndSave() throws Exception {
        long[][] ids = IDS;
        long[][] mask = MASK;
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama())) {
            // example peft/README.md#2
            PeftModel m = Peft.wrap(base, LoraConfig.builder()
                    .r(16).loraAlpha(32).loraDropout(0.05)
                    .targetModules("q_proj", "k_proj", "v_proj", "o_proj")   // list: suffixes of module paths
                    .build());
            System.out.println(m.trainableReport());  // trainable params: N || all params: M || trainable%: 100 N / M
            m.train(true);
            try (TensorScope scope = TensorScope.open()) {                 // owns the step's activations and gradients
                Tensor logits = m.forward(ModelInput.of(ids, mask));       // (B, T, V) with autograd through the adapter
                // loss, Autograd.backward(loss), optimizer over m.trainableParameters() (keyed by PEFT's saved names) ...
            }
            m.save(Path.of("out/adapter"));   // written to a temporary sibling folder, then renamed: never half-written
            // end example
            assertTrue(Files.isRegularFile(Path.of("out/adapter/adapter_config.json")));
            assertFalse(m.trainableParameters().isEmpty());
        }
    }

    @Test
    void disableAdapter() throws Exception {
        long[][] ids = IDS;
        long[][] mask = MASK;
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.tinyLlama());
             PeftModel m = Peft.load(base, Path.of("my-adapter"))) {
            // example peft/README.md#3
            try (var off = m.disableAdapter()) { float[][][] baseLogits = m.logits(ids, mask); }
            // end example
        }
    }
}
