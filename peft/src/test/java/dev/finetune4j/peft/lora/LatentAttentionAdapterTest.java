package dev.finetune4j.peft.lora;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Fixtures;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftModel;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA and DoRA on DeepSeek-V3's {@code kv_b_proj} (the tiny fixture of references/deepseek_v3, random adapters, DoRA's
 * magnitudes moved off their initial norms): decoding over the latent cache folds the adapter into the absorbed
 * weight ({@link LoraLinear#effectiveWeight}), and one token at a time gives the logits of the uncached pass, which
 * applies the adapter to the expanded latents as training does, within 2e-5; greedy generation gives the same tokens
 * cached, uncached and from the merged model. Also on a device whose attention kernels take the expanded heads (10)
 * but not the latent (12), where the absorbed attention is composed from products.
 */
class LatentAttentionAdapterTest {
    private static final double LOGITS_TOLERANCE = 2e-5;
    private static final int NEW_TOKENS = 10;

    /** The effective weight is what the layer computes: x W^T equals its output, for LoRA and DoRA. */
    @Test
    void effectiveWeightIsTheLayersProduct() throws Exception {
        for (boolean dora : new boolean[]{false, true}) {
            try (LanguageModel base = load(Device.cpu())) {
                PeftModel peft = Peft.wrap(base, config(dora), 3);
                List<LoraLinear> layers = kvBProjAdapters(peft, dora);
                try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                    for (LoraLinear layer : layers) {
                        Tensor x = Tensor.of(Device.cpu(), scope, random(3 * layer.base().inFeatures(), 7),
                                Shape.of(3, layer.base().inFeatures()));
                        Tensor folded = Matmul.matmul(x, layer.effectiveWeight().transpose(0, 1));
                        assertClose(layer.forward(x).toFloatArray(), folded.toFloatArray(), 1e-5,
                                (dora ? "DoRA" : "LoRA") + " x W^T vs the layer");
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "dora {0} on {1}")
    @CsvSource({"false,cpu", "true,cpu", "false,narrow"})
    void decodingFoldsTheAdapter(boolean dora, String device) throws Exception {
        Device on = device.equals("cpu") ? Device.cpu() : OpaqueBackendProvider.narrowDevice(10);
        long[] prompt = Fixtures.ids(ServeFixtures.model("references/deepseek_v3"), "greedy_prompt")[0];
        String what = (dora ? "DoRA" : "LoRA") + " on kv_b_proj on " + on;
        try (LanguageModel base = load(on)) {
            float[][] baseLogits = base.logits(new long[][]{prompt}, null)[0];
            PeftModel peft = Peft.wrap(base, config(dora), 3);
            kvBProjAdapters(peft, dora);
            GenerationConfig greedy = GenerationConfig.builder().maxNewTokens(NEW_TOKENS).build();
            long[] uncached = Generator.generate(peft, prompt, GenerationConfig.builder().maxNewTokens(NEW_TOKENS)
                    .useCache(false).build());
            assertArrayEquals(uncached, Generator.generate(peft, prompt, greedy), what + ": cached greedy tokens");
            float[][] expected = peft.logits(new long[][]{uncached}, null)[0];
            assertTrue(maxDifference(baseLogits[prompt.length - 1], expected[prompt.length - 1]) > 1e-2,
                    what + ": the adapter hardly changes the logits, so the test could not tell it was applied");
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                KvCache cache = KvCache.forGeneration(peft.spec().numLayers(), uncached.length);
                Tensor logits = peft.nextTokenLogits(new ModelInput(new long[][]{prompt}, null, null, null, cache));
                assertClose(expected[prompt.length - 1], logits.toFloatArray(), LOGITS_TOLERANCE, what + " prompt");
                for (int i = prompt.length; i < uncached.length; i++) {
                    logits = peft.nextTokenLogits(new ModelInput(new long[][]{{uncached[i]}}, null, null, null,
                            cache));
                    assertClose(expected[i], logits.toFloatArray(), LOGITS_TOLERANCE, what + " position " + i);
                }
            }
            LanguageModel merged = peft.mergeAndUnload();
            assertArrayEquals(uncached, Generator.generate(merged, prompt, greedy), what + ": the merged model");
        }
    }

    private static LanguageModel load(Device device) throws Exception {
        return AutoModel.loadCausalLM(ServeFixtures.model("references/deepseek_v3"),
                LoadOptions.builder().dtype(DType.F32).device(device).build());
    }

    private static LoraConfig config(boolean dora) {
        return LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraInit.RANDOM).useDora(dora)
                .targetModules("kv_b_proj").build();
    }

    /** Every layer's kv_b_proj adapter; DoRA's magnitudes scaled row by row, so that they are not the norms. */
    private static List<LoraLinear> kvBProjAdapters(PeftModel peft, boolean dora) {
        List<LoraLinear> layers = new ArrayList<>();
        for (var e : peft.base().namedModules().entrySet()) {
            if (e.getKey().endsWith("kv_b_proj") && e.getValue() instanceof LoraLinear layer) {
                layers.add(layer);
                if (dora) {
                    float[] m = layer.doraMagnitude().toFloatArray();
                    for (int i = 0; i < m.length; i++) {
                        m[i] *= (float) (1 + 0.4 * Math.sin(i));
                    }
                    layer.doraMagnitude().copyFrom(m);
                }
            }
        }
        assertEquals(peft.spec().numLayers(), layers.size(), "one kv_b_proj adapter per layer");
        return layers;
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static double maxDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + " size");
        double worst = maxDifference(expected, actual);
        assertTrue(worst <= tolerance, what + ": largest difference " + worst);
    }
}
