package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An adapter that fails after part of it is in the tree (its LoRA layers are swapped in, then a module to save is
 * refused; or every layer is in and the weights do not fit) leaves the base model as it was: the same module at
 * every path, the same gradient flags, no memory kept; and the next adapter loads.
 */
class FailedInjectionTest {
    /** LoRA on k_proj goes in, then embed_tokens, an Embedding, is refused as a module to save. */
    private static final Map<String, String> FAILS_HALFWAY = Map.of(
            "target_modules", "[\"k_proj\"]", "modules_to_save", "[\"embed_tokens\"]");

    @Test
    void aLoadThatFailsHalfwayLeavesTheBaseAsItWas(@TempDir Path tmp) {
        Path bad = Fixtures.adapterWith("llama/lora", tmp.resolve("bad"), FAILS_HALFWAY);
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Map<String, String> tree = classesByPath(base);
            long bytes = base.parameterScope().liveBytes();
            PeftException e = assertThrows(PeftException.class, () -> Peft.load(base, bad));
            assertTrue(e.getMessage().contains("model.embed_tokens"), e.getMessage());
            assertEquals(tree, classesByPath(base));
            assertEquals(bytes, base.parameterScope().liveBytes(), "the failed adapter's tensors are freed");
            assertTrue(Peft.load(base, Fixtures.dir("llama").resolve("lora")).adapterTensors().size() > 0);
        }
    }

    @Test
    void aLoadWhoseWeightsDoNotFitFreesWhatItAllocated(@TempDir Path tmp) {
        Path wrongRank = Fixtures.adapterWith("llama/lora", tmp.resolve("r8"), Map.of("r", "8"));
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            Map<String, String> tree = classesByPath(base);
            long bytes = base.parameterScope().liveBytes();
            assertThrows(PeftException.class, () -> Peft.load(base, wrongRank));
            assertEquals(tree, classesByPath(base));
            assertEquals(bytes, base.parameterScope().liveBytes(), "the injected r = 8 factors are freed");
        }
    }

    @Test
    void aWrapThatFailsHalfwayLeavesTreeAndGradientFlagsAsTheyWere() {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            base.requiresGrad(true); // as a model being fully fine-tuned before someone tries an adapter on it
            Map<String, String> tree = classesByPath(base);
            LoraConfig halfway = LoraConfig.builder().targetModules("k_proj").modulesToSave("embed_tokens").build();
            assertThrows(PeftException.class, () -> Peft.wrap(base, halfway));
            assertEquals(tree, classesByPath(base));
            assertTrue(base.stateDict().values().stream().allMatch(Tensor::requiresGrad), "the base's flags are back");
            Peft.wrap(base, LoraConfig.builder().targetModules("k_proj").build());
        }
    }

    /** Every module's path and class, in tree order. */
    private static Map<String, String> classesByPath(Module root) {
        Map<String, String> out = new LinkedHashMap<>();
        root.namedModules().forEach((path, m) -> out.put(path, m.getClass().getName()));
        return out;
    }
}
