package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.opaque.OpaqueBackendProvider;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.Generator;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.nn.Layer;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The KV cache of multi-head latent attention (DeepSeek-V3 with and without query LoRA, DeepSeek-V2's complex
 * rotation, Mistral 4's query temperature) holds per layer and position the latent and the rotated shared key alone,
 * {@code kv_lora_rank + qk_rope_head_dim} values (read from the fixture's config.json), and generation over it gives
 * the reference's greedy tokens (references/ made by transformers). Decoding one token at a time over a prompt read at
 * once gives the logits of the uncached pass within {@value #LOGITS_TOLERANCE}, both when attention works in latent
 * space (kv_b_proj absorbed) and when a wrapper on kv_b_proj (as an adapter would be) makes it expand the cached
 * latents; batched prompts with padding and sampling give what each does alone and uncached. So does decoding where
 * the latent is wider than the attention kernels take (composed attention) and over an NF4-quantized kv_b_proj.
 */
class LatentKvCacheTest {
    /** Float32 logits of the cached and uncached passes, which sum the same products in other orders. */
    static final double LOGITS_TOLERANCE = 2e-5;

    @ParameterizedTest
    @ValueSource(strings = {"deepseek_v3", "deepseek_v3_lite", "deepseek_v2", "deepseek_v2_lite", "mistral4"})
    void cacheHoldsLatentsAndGenerationMatches(String family) throws Exception {
        assertLatentCacheMatches("references/" + family, Device.cpu());
    }

    /**
     * The same checks where the attention kernels take heads of the expanded width (10) but not of the latent (12), as
     * CUDA's 512 against DeepSeek-V3's 576: decoding attends in latent space by the composed attention (the narrow
     * device's kernels refuse the latent), with masks for the left-padded batch; and with bf16 weights under
     * BF16_MIXED (as a GPU serves DeepSeek-V3), the same greedy tokens with and without the cache.
     */
    @ParameterizedTest
    @ValueSource(strings = {"deepseek_v3", "mistral4"})
    void latentWiderThanTheKernelsIsAttendedComposed(String family) throws Exception {
        assertLatentCacheMatches("references/" + family, OpaqueBackendProvider.narrowDevice(10));
        Bf16InferenceTest.assertCacheKeepsBf16AndChangesNoToken("references/" + family,
                OpaqueBackendProvider.narrowDevice(10));
    }

    /**
     * An NF4-quantized kv_b_proj (a QLoRA base) is absorbed from its dequantized weight: decoding gives the logits of
     * the uncached pass over the same quantized weights (which expands the latents through the quantized product)
     * within {@value #LOGITS_TOLERANCE}, and the same greedy tokens.
     */
    @Test
    void quantizedKvBProjIsAbsorbedDequantized() throws Exception {
        String dir = "references/deepseek_v3";
        long[] prompt = ReferenceData.load(dir + "/reference.safetensors").longs.get("greedy_prompt");
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir), LoadOptions.builder()
                .dtype(DType.F32).device(Device.cpu()).quantization(Quantization.NF4).build())) {
            for (Map.Entry<String, Module> e : lm.namedModules().entrySet()) {
                if (e.getKey().endsWith("kv_b_proj")) {
                    assertEquals(DType.NF4, ((Linear) e.getValue()).weight().dtype(), e.getKey());
                }
            }
            long[] tokens = Generator.generate(lm, prompt, GenerationConfig.builder().maxNewTokens(10).useCache(false)
                    .build());
            assertArrayEquals(tokens, Generator.generate(lm, prompt, GenerationConfig.greedy(10)), "NF4 cached tokens");
            float[][] uncached = lm.logits(new long[][]{tokens}, null)[0];
            assertDecodedLogitsMatch(lm, prompt, tokens, uncached, latentWidth(dir), dir + " NF4 absorbed");
        }
    }

    /**
     * A decoding step frees each layer's dequantized kv_b_proj with the layer's other temporaries (the model frees them
     * after each layer in inference, {@link LanguageModel#forwardLayers}): over the 516-wide
     * latent's NF4 kv_b_proj ({@link WideLatentFolder}: 90 KB per layer in float32, 4 layers) the step's peak (one
     * layer's weight, its key and value blocks copied out, small activations: 220 KB measured) stays under the four
     * layers' weights, which keeping each layer's temporaries to the step's end would exceed (its copies included).
     */
    @Test
    void decodingHoldsOneLayersDequantizedWeightAtATime(@TempDir Path tmp) throws Exception {
        Device device = OpaqueBackendProvider.device();
        Path dir = WideLatentFolder.write(tmp.resolve("wide"));
        try (LanguageModel lm = AutoModel.loadCausalLM(dir, LoadOptions.builder().dtype(DType.F32).device(device)
                .quantization(Quantization.NF4).build()); var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            KvCache cache = KvCache.forGeneration(lm.spec().numLayers(), 8);
            lm.nextTokenLogits(new ModelInput(new long[][]{{89, 97, 119, 49, 105, 16}}, null, null, null, cache));
            long before = device.backend().memory().allocatedBytes();
            device.backend().resetPeak();
            lm.nextTokenLogits(new ModelInput(new long[][]{{40}}, null, null, null, cache));
            long stepPeak = device.backend().memory().peakBytes() - before;
            long perLayer = (long) WideLatentFolder.KV_B_ROWS * WideLatentFolder.RANK * Float.BYTES;
            assertTrue(stepPeak < 4 * perLayer, "a decoding step peaked " + stepPeak + " bytes above its start, "
                    + perLayer + " per layer's dequantized kv_b_proj");
        }
    }

    /** {@link #cacheHoldsLatentsAndGenerationMatches}'s checks on {@code device}. */
    static void assertLatentCacheMatches(String dir, Device device) throws Exception {
        ReferenceData ref = ReferenceData.load(dir + "/reference.safetensors");
        long[] prompt = ref.longs.get("greedy_prompt");
        long[] expected = ref.longs.get("greedy_output");
        int newTokens = expected.length - prompt.length;
        String what = dir + " on " + device;
        try (LanguageModel lm = AutoModel.loadCausalLM(ReferenceData.resource(dir),
                LoadOptions.builder().dtype(DType.F32).device(device).build())) {
            assertArrayEquals(expected, Generator.generate(lm, prompt, GenerationConfig.greedy(newTokens)),
                    what + " cached greedy output");
            float[][] uncached = lm.logits(new long[][]{expected}, null)[0];
            assertDecodedLogitsMatch(lm, prompt, expected, uncached, latentWidth(dir), what + " absorbed");

            long[] shorter = Arrays.copyOfRange(prompt, 2, prompt.length);
            long[][] batch = Generator.generate(lm, new long[][]{prompt, shorter}, GenerationConfig.greedy(newTokens));
            assertArrayEquals(expected, batch[0], what + " batched row 0");
            assertArrayEquals(Generator.generate(lm, shorter, GenerationConfig.greedy(newTokens)), batch[1],
                    what + " batched row 1, padded on the left");

            GenerationConfig.Builder sampling = GenerationConfig.builder().maxNewTokens(newTokens).temperature(0.9f)
                    .topK(20).seed(5);
            assertArrayEquals(Generator.generate(lm, prompt, sampling.useCache(false).build()),
                    Generator.generate(lm, prompt, sampling.useCache(true).build()),
                    what + " sampled with and without the cache");

            int wrapped = wrapKvBProj(lm);
            assertTrue(wrapped > 0, what + ": no kv_b_proj found");
            assertDecodedLogitsMatch(lm, prompt, expected, uncached, latentWidth(dir), what + " expanded");
        }
    }

    /**
     * Reads {@code prompt} into a fresh cache, checks what the cache holds, then feeds the rest of {@code tokens} one
     * at a time; each pass's last logits equal {@code uncached}'s at that position.
     */
    static void assertDecodedLogitsMatch(LanguageModel lm, long[] prompt, long[] tokens, float[][] uncached,
                                                 int latentWidth, String what) {
        int layers = lm.spec().numLayers();
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            KvCache cache = KvCache.forGeneration(layers, tokens.length);
            Tensor logits = lm.nextTokenLogits(new ModelInput(new long[][]{prompt}, null, null, null, cache));
            assertClose(uncached[prompt.length - 1], logits.toFloatArray(), what + " prompt's last logits");
            for (int l = 0; l < layers; l++) {
                assertEquals(Shape.of(1, 1, prompt.length, latentWidth), cache.keys(l).shape(),
                        what + " layer " + l + " caches one latent and rotated key per position");
                assertNull(cache.values(l), what + " layer " + l + " caches no values");
            }
            long bytes = Arrays.stream(cache.buffers()).mapToLong(b -> b.numel() * b.dtype().byteSize()).sum();
            assertEquals((long) latentWidth * Float.BYTES, bytes / ((long) cache.capacity() * layers),
                    what + " cache bytes per position and layer");
            for (int i = prompt.length; i < tokens.length; i++) {
                logits = lm.nextTokenLogits(new ModelInput(new long[][]{{tokens[i]}}, null, null, null, cache));
                assertClose(uncached[i], logits.toFloatArray(), what + " logits at position " + i);
            }
        }
    }

    /** kv_lora_rank + qk_rope_head_dim, from the fixture's config.json. */
    private static int latentWidth(String dir) throws Exception {
        JsonNode config = new ObjectMapper().readTree(ReferenceData.resource(dir).resolve("config.json").toFile());
        return config.get("kv_lora_rank").asInt() + config.get("qk_rope_head_dim").asInt();
    }

    /** Wraps every layer's kv_b_proj in a module that only forwards to it, as an adapter's layer stands in for it. */
    private static int wrapKvBProj(LanguageModel lm) {
        int wrapped = 0;
        for (Map.Entry<String, Module> e : lm.namedModules().entrySet()) {
            if (e.getValue().children().get("kv_b_proj") instanceof Linear linear) {
                e.getValue().replaceChild("kv_b_proj", new Forwarding(linear));
                wrapped++;
            }
        }
        return wrapped;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertNotNull(actual, what);
        assertEquals(expected.length, actual.length, what + " size");
        double worst = 0;
        int where = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > worst) {
                worst = d;
                where = i;
            }
        }
        assertTrue(worst <= LOGITS_TOLERANCE, what + ": largest difference " + worst + " at " + where);
    }

    /** A layer that forwards to the Linear it holds: anything but a plain Linear makes attention expand the latents. */
    private static final class Forwarding extends Module implements Layer {
        Forwarding(Linear base) {
            registerChild("base_layer", base);
        }

        @Override
        public Tensor forward(Tensor x) {
            return layer("base_layer").forward(x);
        }
    }
}
