package dev.finetune4j.peft.qlora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Nf4Format;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.lora.LoraInit;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NF4 storage error and size, and QLoRA = LoRA over the dequantized weights (outputs and gradients). */
class QloraTest {

    @Test
    void dequantizationErrorIsBoundedPerBlock() {
        SplittableRandom r = new SplittableRandom(1);
        float[] w = new float[64 * 4096];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (StateDicts.gaussian(r) * 0.02);
        }
        float[] back;
        try (TensorScope scope = TensorScope.open()) {
            back = Tensor.of(w, w.length).convertTo(DType.NF4, scope).toFloatArray();
        }
        // the core kernels give exactly what peft's scalar quantizer gave
        assertArrayEquals(ReferenceNf4.dequantize(ReferenceNf4.quantize(w)), back);
        double se = 0;
        double ss = 0;
        double worstInBlockUnits = 0;
        for (int b = 0; b < w.length / Nf4Format.BLOCK; b++) {
            float absmax = 0;
            for (int i = b * 64; i < (b + 1) * 64; i++) {
                absmax = Math.max(absmax, Math.abs(w[i]));
            }
            for (int i = b * 64; i < (b + 1) * 64; i++) {
                double e = Math.abs(back[i] - w[i]);
                se += e * e;
                ss += (double) w[i] * w[i];
                worstInBlockUnits = Math.max(worstInBlockUnits, e / absmax);
            }
        }
        double relRms = Math.sqrt(se / ss);
        System.out.printf("NF4 on N(0, 0.02): relative RMS error %.4f, worst error %.4f of the block maximum, %.4f bytes/param%n",
                relRms, worstInBlockUnits, (double) DType.NF4.bytesFor(w.length) / w.length);
        // the widest gap between NF4 codes is -0.6962 - (-1) = 0.3038, so rounding errs by at most 0.1519 of the
        // block maximum; the 8-bit stored maximum adds under 1%
        assertTrue(worstInBlockUnits <= 0.1519 * 1.01 + 0.01, "worst error " + worstInBlockUnits);
        assertTrue(relRms < 0.12, "relative RMS error " + relRms);
        double bytes = (double) DType.NF4.bytesFor(w.length) / w.length;
        assertEquals(0.5159, bytes, 0.002);
        try (TensorScope scope = TensorScope.open()) {
            float[] zeros = Tensor.zeros(100).convertTo(DType.NF4, scope).toFloatArray();
            assertArrayEquals(new float[100], zeros, "zero blocks and a partial last block");
        }
    }

    @Test
    void qloraEqualsLoraOverTheDequantizedWeights() throws Exception {
        long[][] ids = {{1, 5, 9, 200, 3, 77, 12, 8}, {4, 4, 250, 31, 0, 9, 66, 2}};
        LoraConfig cfg = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM)
                .targetModules("q_proj", "v_proj", "down_proj").build();
        try (LanguageModel quantized = AutoModel.loadCausalLM(llama()); LanguageModel dense = AutoModel.loadCausalLM(llama())) {
            long denseBytes = quantized.parameterScope().liveBytes();
            Map<String, Linear> layers = QloraInjector.quantize(quantized);
            assertEquals(14, layers.size(), "7 projections x 2 layers, lm_head kept");
            // every quantized float32 weight is freed: 2 layers x (q 64x64 + k 32x64 + v 32x64 + o 64x64
            // + gate, up 128x64 + down 64x128) x 4 bytes = 2 x 36,864 x 4; the NF4 weights take, per layer,
            // q and o 4 + 4 + 64 + 2048, k and v 4 + 4 + 32 + 1024, gate, up and down 4 + 4 + 128 + 4096 = 19,064 bytes
            assertEquals(denseBytes - 2 * 36_864 * 4L + 2 * 19_064L, quantized.parameterScope().liveBytes());
            double bpp = QloraInjector.bytesPerParameter(quantized);
            System.out.printf("QLoRA llama-tiny: %d NF4 layers, %.4f bytes per quantized parameter%n", layers.size(), bpp);
            assertTrue(bpp > 0.5 && bpp < 0.53, "bytes per parameter " + bpp);
            layers.forEach((path, q) -> {
                Linear l = (Linear) dense.namedModules().get(path);
                float[] w = q.weight().toFloatArray();
                for (int i = 0; i < w.length; i++) {
                    l.weight().setFlat(i, w[i]);
                }
            });
            PeftModel a = Peft.wrap(quantized, cfg, 3);
            PeftModel b = Peft.wrap(dense, cfg, 3);
            assertArrayEquals(flat(b.logits(ids, null)), flat(a.logits(ids, null)), 1e-5f);
            float[] ga = gradients(a, ids);
            float[] gb = gradients(b, ids);
            assertArrayEquals(gb, ga, 1e-5f);
        }
    }

    private static float[] gradients(PeftModel m, long[][] ids) {
        try (var scope = TensorScope.open()) {
            Autograd.backward(Reductions.mean(m.forward(ModelInput.of(ids, null))));
        }
        return m.trainableParameters().values().stream().map(t -> t.grad().toFloatArray())
                .reduce(new float[0], QloraTest::concat);
    }

    private static float[] concat(float[] x, float[] y) {
        float[] out = java.util.Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    private static float[] flat(float[][][] x) {
        return java.util.Arrays.stream(x).flatMap(java.util.Arrays::stream).reduce(new float[0], QloraTest::concat);
    }

    private static Path llama() throws URISyntaxException {
        return Path.of(QloraTest.class.getResource("/hf-tiny/llama").toURI());
    }
}
