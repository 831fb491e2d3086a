package dev.finetune4j.peft;

import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ReferenceData;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA adapters on stacked experts ({@code target_parameters}) made by Python PEFT 0.21 over transformers 5.17
 * (tools/reference/peft_expert_adapters.py, over core's reference folders) load here and give PEFT's logits, without
 * and with a padding mask: gpt-oss's experts held (E, in, out), Mistral 4's and Gemma 4's as linear layers' (E, out, in)
 * weights, Qwen3-VL-MoE's held here in its checkpoint's (E, in, out), transposed from transformers'.
 */
class PeftMadeExpertAdaptersTest {
    /** float32 on both sides; the largest difference measured is 4.6e-6 (gpt-oss: sinks, clamped experts). */
    private static final double TOLERANCE = 2e-5;

    @ParameterizedTest
    @ValueSource(strings = {"gpt_oss", "mistral4", "gemma4_text_moe", "qwen3_vl_moe"})
    void loadsWithPeftsLogits(String family) throws Exception {
        // the inputs PEFT ran: the reference folder's, which the script read, its weights widened to float32 as there
        Path adapter = Path.of(PeftMadeExpertAdaptersTest.class.getResource("/peft-made-experts/" + family).toURI());
        Path reference = ServeFixtures.model("references/" + family);
        long[][] ids = Fixtures.ids(reference, "input_ids");
        long[][] mask = Fixtures.ids(reference, "attention_mask");
        try (PeftModel model = Peft.load(AutoModel.loadCausalLM(reference, ReferenceData.f32(Device.cpu())), adapter);
             SafetensorsFile torch = SafetensorsFile.open(adapter.resolve("expected.safetensors"))) {
            assertTrue(model.adapterTensors().keySet().stream().anyMatch(k -> k.contains("experts.lora_A")),
                    model.adapterTensors().keySet().toString());
            assertClose(torch.tensor("logits").toFloatArray(), model.logits(ids, null), null, family);
            assertClose(torch.tensor("logits_masked").toFloatArray(), model.logits(ids, mask), mask, family + " masked");
        }
    }

    /** The largest difference over the positions the mask keeps (all of them without one). */
    private static void assertClose(float[] expected, float[][][] actual, long[][] mask, String what) {
        int vocab = actual[0][0].length;
        double worst = 0;
        int compared = 0;
        for (int b = 0; b < actual.length; b++) {
            for (int t = 0; t < actual[b].length; t++) {
                if (mask != null && mask[b][t] == 0) {
                    continue;
                }
                for (int v = 0; v < vocab; v++) {
                    worst = Math.max(worst, Math.abs(expected[(b * actual[b].length + t) * vocab + v] - actual[b][t][v]));
                    compared++;
                }
            }
        }
        assertEquals(expected.length, actual.length * actual[0].length * vocab, what + ": logits' size");
        assertTrue(compared > 0 && worst <= TOLERANCE, what + ": logits differ from PEFT's by up to " + worst);
    }
}
