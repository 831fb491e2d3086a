package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code method:} names of a train config: QLoRA quantizes the base and, like every method, takes the run's seed. */
class PeftMethodsTest {
    private static final String LORA_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";

    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void writeModel() throws IOException {
        model = CliTestSupport.tinyModel(dir.resolve("model"));
    }

    private static ObjectNode settings() {
        ObjectNode peft = JsonNodeFactory.instance.objectNode();
        peft.put("r", 4);
        peft.putArray("target_modules").add("q_proj");
        return peft;
    }

    /** lora_A of {@code method} wrapped with {@code seed} over the tiny model, loaded NF4 when {@code nf4}. */
    private static float[] loraA(String method, long seed, boolean nf4) {
        LoadOptions options = LoadOptions.builder().device(Device.cpu())
                .quantization(nf4 ? Quantization.NF4 : Quantization.NONE).build();
        try (LanguageModel base = AutoModel.loadCausalLM(model, options);
             PeftModel wrapped = PeftMethods.wrap(base, method, settings(), seed)) {
            if (method.equals("qlora")) {
                assertEquals(DType.NF4, base.stateDict().get("model.layers.0.mlp.up_proj.weight").dtype());
            }
            return wrapped.trainableParameters().get(LORA_A).toFloatArray();
        }
    }

    @Test
    void qloraTakesTheRunsSeedAsLoraDoes() {
        float[] seven = loraA("qlora", 7, false);
        assertArrayEquals(loraA("lora", 7, true), seven, "QLoRA is LoRA over the NF4 base, from the same seed");
        assertFalse(Arrays.equals(seven, loraA("qlora", 8, false)), "another seed, another initialisation");
        assertArrayEquals(seven, loraA("qlora", 7, true), "a base loaded in NF4 is left as it is");
    }

    @Test
    void onlyQloraQuantizesTheBase() {
        assertTrue(PeftMethods.quantizesBase("QLoRA"));
        assertFalse(PeftMethods.quantizesBase("lora"));
        assertFalse(PeftMethods.quantizesBase(null), "the default method is LoRA");
    }
}
