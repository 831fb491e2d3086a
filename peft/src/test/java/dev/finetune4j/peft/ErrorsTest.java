package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input fails with messages that say what was expected, what was found and what to do. */
class ErrorsTest {

    @Test
    void targetsMatchingNothingListTheModulesThatExist() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("gpt2"))) {
            PeftException e = assertThrows(PeftException.class,
                    () -> Peft.wrap(base, LoraConfig.builder().targetModules("q_proj").build()));
            assertTrue(e.getMessage().contains("c_attn, c_proj, c_fc"), e.getMessage());
            assertTrue(e.getMessage().contains("transformer.h.0.attn.c_attn"), e.getMessage());
        }
    }

    @Test
    void targetingANonLinearModuleIsRefused() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.wrap(base, LoraConfig.builder().targetModules("mlp").build()));
            assertTrue(e.getMessage().contains("model.layers.0.mlp") && e.getMessage().contains("not a linear layer"), e.getMessage());
        }
    }

    @Test
    void invalidConfigValuesNameTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().r(0).build());
        assertTrue(e.getMessage().startsWith("r = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().loraDropout(1.5).build());
        assertTrue(e.getMessage().startsWith("lora_dropout = 1.5"), e.getMessage());
    }

    @Test
    void rankMismatchNamesTheTensorAndBothShapes(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.dir("llama").resolve("lora"), tmp);
        Files.writeString(dir.resolve("adapter_config.json"), Files.readString(dir.resolve("adapter_config.json")).replace("\"r\": 4", "\"r\": 8"));
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("lora_A.weight' has shape [4, 128] in the file") && e.getMessage().contains("[8, 128]"), e.getMessage());
        }
    }

    @Test
    void adapterForAnotherModelIsRefused() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, Fixtures.dir("gpt2").resolve("lora")));
            assertTrue(e.getMessage().contains("matches no module"), e.getMessage());
        }
    }

    @Test
    void unknownPeftTypeListsTheSupportedOnes(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.dir("llama").resolve("lora"), tmp);
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"VERA\", \"r\": 4}");
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("unknown peft_type 'VERA'") && e.getMessage().contains("LORA, IA3"), e.getMessage());
        }
    }

    @Test
    void missingAndCorruptFiles(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.dir("llama").resolve("lora"), tmp);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            byte[] bytes = Files.readAllBytes(dir.resolve("adapter_model.safetensors"));
            Files.write(dir.resolve("adapter_model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("truncated or corrupt"), e.getMessage());
            Files.delete(dir.resolve("adapter_model.safetensors"));
            e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().startsWith("missing adapter weights"), e.getMessage());
            Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": ");
            e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
            e = assertThrows(PeftException.class, () -> Peft.load(base, tmp.resolve("nowhere")));
            assertTrue(e.getMessage().startsWith("missing "), e.getMessage());
        }
    }

    @Test
    void unsupportedLoraOptionsAreRefusedNotIgnored(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.dir("llama").resolve("lora"), tmp);
        Files.writeString(dir.resolve("adapter_config.json"), Files.readString(dir.resolve("adapter_config.json"))
                .replace("\"use_qalora\": false", "\"use_qalora\": true"));
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("use_qalora"), e.getMessage());
        }
    }

    @Test
    void configErrorsNameTheFileOnceAndTheFieldWithWhatWasFound(@TempDir Path tmp) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Path dir = Fixtures.adapterWith("llama/lora", tmp.resolve("r"), Map.of("r", "\"8\""));
            String file = dir.resolve("adapter_config.json").toString();
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertEquals(file + ": 'r' = \"8\" must be an integer in [1, 131072]", e.getMessage());

            Path number = Fixtures.adapterWith("llama/lora", tmp.resolve("number"), Map.of("target_modules", "5"));
            e = assertThrows(PeftException.class, () -> Peft.load(base, number));
            assertTrue(e.getMessage().contains("target_modules must be a list of module names or a regex string, found 5"),
                    e.getMessage());

            Path regex = Fixtures.adapterWith("llama/lora", tmp.resolve("regex"), Map.of("rank_pattern", "{\"(\": 2}"));
            e = assertThrows(PeftException.class, () -> Peft.load(base, regex));
            assertTrue(e.getMessage().startsWith(regex.resolve("adapter_config.json") + ": the rank_pattern regex '(' does not compile"),
                    e.getMessage());
        }
    }

    @Test
    void aTensorShapeTooLargeForATensorIsAPeftException(@TempDir Path tmp) throws IOException {
        Path dir = copy(Fixtures.dir("llama").resolve("lora"), tmp);
        Path weights = dir.resolve("adapter_model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) in.getLong();
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = (ObjectNode) json.readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        header.set("extra.weight", json.readTree("{\"dtype\": \"F32\", \"shape\": [0, 3000000000], \"data_offsets\": [0, 0]}"));
        byte[] newHeader = json.writeValueAsBytes(header);
        ByteBuffer out = ByteBuffer.allocate(8 + newHeader.length + bytes.length - 8 - headerLength).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(newHeader.length).put(newHeader).put(bytes, 8 + headerLength, bytes.length - 8 - headerLength);
        Files.write(weights, out.array());
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains(weights.toString()) && e.getMessage().contains("'extra.weight'"), e.getMessage());
        }
    }

    @Test
    void disablingAMergedAdapterSaysToUnmerge() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.load(base, Fixtures.dir("llama").resolve("lora"));
            m.merge();
            IllegalStateException e = assertThrows(IllegalStateException.class, m::disableAdapter);
            assertTrue(e.getMessage().contains("unmerge()"), e.getMessage());
            UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                    () -> Peft.load(AutoModel.loadCausalLM(Fixtures.dir("llama")), Fixtures.dir("llama").resolve("prompt")).merge());
            assertTrue(u.getMessage().contains("only LoRA, DoRA and IA3"), u.getMessage());
        }
    }

    private static Path copy(Path from, Path tmp) throws IOException {
        Path dir = tmp.resolve("adapter");
        Files.createDirectories(dir);
        for (String f : new String[]{"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(from.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }
}
