package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ReferenceData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole models on the opaque device: the Hugging Face fixtures' logits (masked and unmasked) and greedy generation
 * equal the CPU's bit for bit, and a forward pass moves nothing between host and device except its inputs, its
 * position tables and the logits read at the end.
 */
class OpaqueModelsTest {

    @ParameterizedTest
    @ValueSource(strings = {"hf-tiny/llama", "hf-tiny/qwen2", "hf-tiny/gpt2", "references/qwen3"})
    void logitsAndGenerationEqualTheCpu(String dir) throws Exception {
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        long[][] ids = ref.ids("input_ids");
        long[][] mask = ref.ids("attention_mask");
        OpaqueBackend backend = OpaqueBackendProvider.backend();
        try (LanguageModel cpu = AutoModel.loadCausalLM(ReferenceData.resource(dir), LoadOptions.builder().device(Device.cpu()).build());
             LanguageModel opaque = AutoModel.loadCausalLM(ReferenceData.resource(dir),
                     LoadOptions.builder().device(OpaqueBackendProvider.device()).build())) {
            long transfers = backend.hostTransfers();
            float[][][] logits = opaque.logits(ids, mask);
            // in: the token ids and the position data (the rotary cos and sin tables, or GPT-2's position ids),
            // made once per pass; out: the logits. Nothing per layer, no weight, no activation crosses.
            assertTrue(backend.hostTransfers() - transfers <= 4, "host transfers in one forward pass: "
                    + (backend.hostTransfers() - transfers));
            assertDeepEquals(cpu.logits(ids, mask), logits, dir + " masked logits");
            assertDeepEquals(cpu.logits(ids, null), opaque.logits(ids, null), dir + " logits");
            long[] prompt = ids[0];
            assertArrayEquals(Generator.generate(cpu, prompt, GenerationConfig.greedy(8)),
                    Generator.generate(opaque, prompt, GenerationConfig.greedy(8)), dir + " greedy generation");
        }
    }

    private static void assertDeepEquals(float[][][] expected, float[][][] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int b = 0; b < expected.length; b++) {
            for (int t = 0; t < expected[b].length; t++) {
                assertArrayEquals(expected[b][t], actual[b][t], what + " [" + b + "][" + t + "]");
            }
        }
    }
}
