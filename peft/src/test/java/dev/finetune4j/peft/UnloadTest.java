package dev.finetune4j.peft;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.lora.LoraLinear;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** unload() takes the adapter out without merging it: the base model computes what it computed before. */
class UnloadTest {

    @Test
    void unloadRestoresTheBaseModelUnmerged() {
        long[][] ids = Fixtures.ids("llama", "input_ids");
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            float[][][] before = base.logits(ids, null);
            PeftModel loaded = Peft.load(base, Fixtures.dir("llama/lora"));
            float[][][] adapted = loaded.logits(ids, null);
            assertFalse(java.util.Arrays.equals(Fixtures.flat(before), Fixtures.flat(adapted)), "the fixture adapter changes the logits");
            assertSame(base, loaded.unload());
            assertTrue(base.namedModules().values().stream().noneMatch(LoraLinear.class::isInstance));
            assertArrayEquals(Fixtures.flat(before), Fixtures.flat(base.logits(ids, null)), "exactly the base model's logits");
            assertThrows(IllegalStateException.class, loaded::trainableReport);
            Peft.load(base, Fixtures.dir("llama/lora")); // the tree takes an adapter again
        }
    }
}
