package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regular expressions from adapter_config.json run within a step budget: one that backtracks catastrophically,
 * {@code (.*){12}!} (years on a 30-character module path), fails in moments with the field and the pattern named,
 * and the base model still takes an adapter. Ordinary expressions match what they always matched.
 */
class HostileRegexTest {
    private static final String BACKTRACKS = "(.*){12}!";
    private static final String PATH = "model.layers.0.self_attn.q_proj";

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aBacktrackingTargetRegexFailsNamingTheFieldAndThePattern() {
        PeftException e = assertThrows(PeftException.class, () -> TargetModules.regex(BACKTRACKS).matches(PATH));
        assertTrue(e.getMessage().startsWith("the target_modules regex '" + BACKTRACKS + "' backtracks too much"), e.getMessage());
        assertTrue(e.getMessage().contains(PATH), e.getMessage());
    }

    @ParameterizedTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    @CsvSource(delimiter = '|', value = {
            "target_modules  | '\"(.*){12}!\"'",
            "exclude_modules | '\"(.*){12}!\"'",
            "rank_pattern    | '{\"(.*){12}!\": 2}'",
            "alpha_pattern   | '{\"(.*){12}!\": 2}'",
            "layers_pattern  | '\"(.*){12}!\"'"})
    void aBacktrackingPatternInAnAdapterFailsItsLoadAndTheBaseTakesTheNext(String field, String value, @TempDir Path tmp) {
        Map<String, String> fields = field.equals("layers_pattern")
                ? Map.of(field, value, "layers_to_transform", "[0]") // the pattern locates the layer index
                : Map.of(field, value);
        Path dir = Fixtures.adapterWith("llama/lora", tmp.resolve(field), fields);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, dir));
            assertTrue(e.getMessage().contains("the " + field + " regex '" + BACKTRACKS + "' backtracks too much"), e.getMessage());
            Peft.load(base, Fixtures.dir("llama").resolve("lora"));
        }
    }

    @Test
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void modulesToSaveAreNamesNotPatterns() {
        LoraConfig c = LoraConfig.builder().targetModules("q_proj").modulesToSave(BACKTRACKS, "self_att.", "layers.1").build();
        assertTrue(c.targets(PATH, null), "'self_att.' names no module: its '.' is no wildcard");
        assertFalse(c.targets("model.layers.1.self_attn.q_proj", null), "inside the module to save layers.1");
    }

    @Test
    void ordinaryPatternsMatchAsBefore() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            List<String> byRegex = List.copyOf(Peft.wrap(base, LoraConfig.builder().targetModulesRegex(".*\\.(q_proj|v_proj)")
                    .rankPattern(Map.of("layers\\.1\\..*", 2)).build()).adapterTensors().keySet());
            try (LanguageModel other = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
                assertEquals(List.copyOf(Peft.wrap(other, LoraConfig.builder().targetModules("q_proj", "v_proj").build())
                        .adapterTensors().keySet()), byRegex);
            }
        }
        LoraConfig c = LoraConfig.builder().excludeModulesRegex(".*\\.0\\..*").rankPattern(Map.of("layers\\.1\\..*", 2))
                .layersPattern("layers").layersToTransform(1).targetModules("q_proj").build();
        assertEquals(2, c.rankFor("model.layers.1.self_attn.q_proj"));
        assertEquals(8, c.rankFor("model.layers.0.self_attn.q_proj"));
        assertTrue(c.targets("model.layers.1.self_attn.q_proj", null));
        assertFalse(c.targets("model.layers.0.self_attn.q_proj", null), "excluded, and not layer 1");
        assertFalse(c.targets("model.layers.2.self_attn.q_proj", null), "not layer 1");
    }
}
