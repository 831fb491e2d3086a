package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.ia3.Ia3Config;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import dev.finetune4j.peft.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Save then load gives the same tensors under PEFT's names and the same logits, for every method. */
class SaveLoadTest {

    static Stream<PeftConfig> configs() {
        return Stream.of(
                LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj").initLoraWeights(LoraInit.RANDOM).build(),
                LoraConfig.builder().r(4).useDora(true).useRslora(true).initLoraWeights(LoraInit.RANDOM)
                        .targetModulesRegex(".*\\.(q_proj|down_proj)").rankPattern(Map.of("down_proj", 2)).build(),
                new Ia3Config(TargetModules.names("k_proj", "down_proj"), TargetModules.names("down_proj"),
                        TargetModules.names("layers.0.mlp.down_proj"), false, false, null, "CAUSAL_LM"),
                new PrefixTuningConfig(3, true, 16, "CAUSAL_LM"),
                PromptTuningConfig.of(4),
                new BottleneckConfig(BottleneckConfig.Placement.HOULSBY, 4, Activations.Kind.RELU, "CAUSAL_LM"),
                new FreezeConfig(1, List.of("lm_head"), "CAUSAL_LM"));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("configs")
    void roundTripIsExact(PeftConfig config, @TempDir Path tmp) throws IOException {
        long[][] ids = Fixtures.ids("llama", "input_ids");
        Path dir = tmp.resolve("adapter");
        float[][][] before;
        Map<String, float[]> saved;
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, config, 7);
            perturb(m);
            before = m.logits(ids, null);
            m.save(dir);
            saved = read(dir);
            if (!(config instanceof PrefixTuningConfig)) {
                assertEquals(m.adapterTensors().keySet(), saved.keySet());
            }
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel loaded = Peft.load(base, dir);
            assertEquals(config.peftType(), loaded.config().peftType());
            float[][][] after = loaded.logits(ids, null);
            assertArrayEquals(Fixtures.flat(before), Fixtures.flat(after), 1e-6f, config.peftType());
            assertTrue(loaded.trainableParameters().isEmpty(), "Peft.load gives a frozen adapter");
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(dir), files.toList(), "no temporary folders left behind");
        }
    }

    /** IA3's exclude_modules, which PEFT reads for IA3 as for LoRA, leaves its modules without a vector. */
    @Test
    void ia3ExcludeModulesLeavesTheirModulesOut() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, new Ia3Config(TargetModules.names("down_proj"), TargetModules.names("down_proj"),
                    TargetModules.names("layers.0.mlp.down_proj"), false, true, null, "CAUSAL_LM"));
            List<String> scaled = m.trainableParameters().keySet().stream().sorted().toList();
            assertEquals(List.of("base_model.model.model.layers.1.mlp.down_proj.ia3_l"), scaled);
        }
    }

    @Test
    void loraNamesAndConfigArePeftsAndSavingReplacesAtomically(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("adapter");
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj").loraDropout(0.05).build());
            m.save(dir);
            m.save(dir);
            Map<String, float[]> saved = read(dir);
            assertTrue(saved.containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
            assertTrue(saved.containsKey("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"));
            assertEquals(8, saved.size());
            JsonNode cfg = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
            assertEquals("LORA", cfg.get("peft_type").asText());
            assertEquals(8, cfg.get("r").asInt());
            assertEquals(16, cfg.get("lora_alpha").asInt());
            assertEquals(0.05, cfg.get("lora_dropout").asDouble());
            assertTrue(cfg.get("init_lora_weights").asBoolean());
            assertEquals(List.of("q_proj", "v_proj"), List.of(cfg.get("target_modules").get(0).asText(), cfg.get("target_modules").get(1).asText()));
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
                assertEquals("pt", f.metadata().get("format"));
            }
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(1, files.count());
            }
        }
    }

    @Test
    void loadTrainableContinuesFromTheFile(@TempDir Path tmp) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.loadTrainable(base, Fixtures.dir("llama").resolve("lora"));
            assertEquals(28, m.trainableParameters().size());
            assertFalse(base.stateDict().entrySet().stream()
                    .anyMatch(e -> e.getValue().requiresGrad() && !e.getKey().contains("lora_")), "base weights stay frozen");
        }
    }

    /** Moves every adapter value off its initialisation so that the round trip checks real numbers. */
    static void perturb(PeftModel m) {
        int k = 0;
        for (var t : m.adapterTensors().values()) {
            for (long i = 0; i < t.numel(); i++) {
                t.setFlat(i, t.getFlat(i) + 0.01f * (float) Math.sin(++k));
            }
        }
    }

    static Map<String, float[]> read(Path dir) throws IOException {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            for (String n : f.names()) {
                out.put(n, f.tensor(n).toFloatArray());
            }
        }
        return out;
    }
}
