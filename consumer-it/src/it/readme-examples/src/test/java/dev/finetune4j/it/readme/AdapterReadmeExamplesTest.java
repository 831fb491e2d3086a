package dev.finetune4j.it.readme;

import dev.finetune4j.core.models.AutoModel;
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

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** README's adapter mixing, as written, on the tiny fixtures. */
class AdapterReadmeExamplesTest {

    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void mixTwoAdapters() throws Exception {
        Fixtures.copyFolder(Path.of("my-adapter"), Path.of("adapters/legal"));
        Fixtures.copyFolder(Path.of("my-adapter"), Path.of("adapters/support"));
        Fixtures.delete(Path.of("adapters/legal+support"));
        // example README.md#14
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
