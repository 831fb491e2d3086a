package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * adapter_config.json sizes are claims: inexact or absurd ranks and virtual-token counts are refused before any
 * allocation, with the field named, and the base model is left as it was.
 */
class HostileAdapterConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long[][] IDS = {{1, 5, 9, 200}};

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "lora   | r                  | 2147483647 | must be an integer",
            "lora   | r                  | 4294967300 | must be an integer",   // 2^32 + 4: asInt() gave 4
            "lora   | r                  | 4.7        | must be an integer",   // asInt() gave 4
            "lora   | r                  | 1000       | exceeds the layer's larger dimension",
            "prompt | num_virtual_tokens | 1e9        | must be an integer",
            "prompt | num_virtual_tokens | 128        | leaves no position",
            "prefix | num_virtual_tokens | 1000000000 | must be an integer"})
    void absurdSizesAreRefusedAndTheBaseIsUntouched(String method, String field, String value, String message,
                                                    @TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve(method);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftConfig config = switch (method) {
                case "lora" -> LoraConfig.builder().r(4).targetModules("q_proj", "v_proj").build();
                case "prompt" -> PromptTuningConfig.of(4);
                default -> PrefixTuningConfig.of(4);
            };
            Peft.wrap(base, config).save(dir);
        }
        ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("adapter_config.json").toFile());
        c.set(field, JSON.readTree(value));
        JSON.writeValue(dir.resolve("adapter_config.json").toFile(), c);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            float[][][] before = base.logits(IDS, null);
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains(field) && e.getMessage().contains(message), e.getMessage());
            assertArrayEquals(Fixtures.flat(before), Fixtures.flat(base.logits(IDS, null)), "the base is untouched");
            Peft.wrap(base, LoraConfig.builder().r(2).build()); // and still takes an adapter
        }
    }

    @Test
    void aConfigThatIsNotARegularFileIsRefused(@TempDir Path tmp) throws IOException {
        Files.createDirectories(tmp.resolve("adapter_config.json")); // a FIFO is refused the same way, without blocking
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, tmp));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        }
    }
}
