package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.AdapterFiles;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A replaced or unloaded adapter version lives exactly as long as the requests holding it, then its memory is freed. */
class AdapterVersionLifetimeTest {
    private static final String Q_PROJ = "model.layers.0.self_attn.q_proj";

    @Test
    void aReplacedVersionIsFreedWhenItsLastRequestEnds() {
        Path loraDir = ServeFixtures.model("llama").resolve("lora");
        try (LanguageModel base = ServeFixtures.load("llama"); AdapterFiles lora = AdapterFiles.read(loraDir)) {
            AdapterSet set = new AdapterSet(base);
            set.load("a", lora);
            LoraAdapter first = set.acquire("a");
            set.load("a", lora);
            LoraAdapter second = set.acquire("a");
            assertNotEquals(first.version(), second.version());
            assertNull(set.acquire(null), "null is the base model");

            float[] a = first.factors(Q_PROJ).a().toFloatArray(); // replaced, but a request still holds it
            first.release();
            assertThrows(IllegalStateException.class, () -> first.factors(Q_PROJ).a().toFloatArray(), "freed");

            assertTrue(set.unload("a"));
            assertEquals(a.length, second.factors(Q_PROJ).a().toFloatArray().length, "unloaded, still held");
            second.release();
            assertThrows(IllegalStateException.class, () -> second.factors(Q_PROJ).b().toFloatArray(), "freed");
            set.close();
        }
    }
}
