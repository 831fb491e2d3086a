package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.lora.LoraConfig;
import dev.finetune4j.peft.qlora.QloraInjector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adapters on the experts of a mixture, served batched: per-expert linear layers (Mixtral's {@code w1 w2 w3},
 * Qwen3-MoE's {@code gate_proj up_proj down_proj}, with the router {@code gate}) and stacked expert parameters
 * (PEFT's {@code target_parameters} on gpt-oss's and Qwen3-VL-MoE's (E, in, out) and Mistral 4's (E, out, in)
 * experts, and Gemma 4's, whose experts and router {@code proj} sit on the layer beside its dense MLP). A batch of three requests, two
 * adapters and the bare base, gives each row the logits of its adapter alone bit for bit (and of that adapter merged
 * into the base, within rounding), and the base row the base model's bit for bit, although each expert multiplies the
 * three rows' tokens together (over gpt-oss quantized to NF4 too, as QLoRA serves it); and greedy requests batched
 * through the engine (chunked prefill, cached decoding) each get the tokens core's Generator gives them alone.
 */
class ExpertAdaptersServingTest {
    /** A merged adapter's logits against the batched row's: the merge rounds W + s B A (measured up to 1.8e-6). */
    private static final double MERGED = 1e-5;
    /**
     * The fixtures hold bf16 values: loaded as float32, merging keeps the adapter's update exactly (merged into bf16
     * weights it would be rounded, moving the logits by about 1e-2).
     */
    private static final LoadOptions F32 = LoadOptions.builder().dtype(DType.F32).device(Device.cpu()).build();

    static Stream<Arguments> mixtures() {
        return Stream.of(
                Arguments.of("references/mixtral", LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj", "w1", "w2"),
                        LoraConfig.builder().r(8).loraAlpha(8).targetModules("w3", "gate", "o_proj")),
                Arguments.of("references/qwen3_moe", LoraConfig.builder().r(4).loraAlpha(16).targetModules("up_proj", "down_proj"),
                        LoraConfig.builder().r(8).loraAlpha(8).targetModules("gate_proj", "gate", "v_proj")),
                Arguments.of(ServeFixtures.GPT_OSS, LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj")
                                .targetParameters("mlp.experts.gate_up_proj"),
                        LoraConfig.builder().r(8).loraAlpha(8).targetModules("router")
                                .targetParameters("mlp.experts.down_proj", "mlp.experts.gate_up_proj")),
                Arguments.of("references/mistral4", LoraConfig.builder().r(4).loraAlpha(16)
                                .targetParameters("mlp.experts.down_proj"),
                        LoraConfig.builder().r(2).loraAlpha(8).targetModules("o_proj")
                                .targetParameters("mlp.experts.gate_up_proj")),
                Arguments.of("references/qwen3_vl_moe", LoraConfig.builder().r(4).loraAlpha(16).targetModules("q_proj")
                                .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj"),
                        LoraConfig.builder().r(2).loraAlpha(8).targetParameters("mlp.experts.down_proj")),
                Arguments.of("references/gemma4_text_moe", LoraConfig.builder().r(4).loraAlpha(16).targetModules("proj")
                                .targetParameters("experts.gate_up_proj", "experts.down_proj"),
                        LoraConfig.builder().r(2).loraAlpha(8).targetParameters("experts.down_proj")));
    }

    @ParameterizedTest
    @MethodSource("mixtures")
    void eachRowGetsItsOwnAdapterInsideTheMixture(String model, LoraConfig.Builder first, LoraConfig.Builder second,
                                                  @TempDir Path tmp) {
        Path a = ServeFixtures.saveAdapter(model, first, 1, tmp.resolve("a"));
        Path b = ServeFixtures.saveAdapter(model, second, 2, tmp.resolve("b"));
        long[][] prompts = prompts(model);
        float[][] batched = batched(model, false, a, b, prompts);
        assertArrayEquals(alone(model, false, null, prompts[1]), batched[1], model + ": the base row");
        for (int row : new int[]{0, 2}) {
            Path adapter = row == 0 ? a : b;
            String what = model + ": row " + row;
            float[] unadapted = alone(model, false, null, prompts[row]);
            assertTrue(maxDifference(unadapted, batched[row]) > 1e-3, what + " is not changed by its adapter");
            assertArrayEquals(alone(model, false, adapter, prompts[row]), batched[row], what + ", its adapter alone");
            float[] merged;
            try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model(model), F32);
                 var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                merged = Peft.load(base, adapter).mergeAndUnload().nextTokenLogits(ModelInput.of(
                        new long[][]{prompts[row]}, null)).toFloatArray();
            }
            assertMaxDifference(merged, batched[row], MERGED, what + ", its adapter merged");
        }
    }

    /**
     * QLoRA on stacked experts: gpt-oss quantized to NF4, its stacked expert matrices included, each expert's slice
     * dequantized for its tokens; each row equals its adapter alone over that base, the base row the base's.
     */
    @Test
    void overAnNf4BaseEachRowEqualsItsAdapterAlone(@TempDir Path tmp) {
        String model = ServeFixtures.GPT_OSS;
        Path a = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(4).loraAlpha(16)
                .targetParameters("mlp.experts.gate_up_proj", "mlp.experts.down_proj"), 5, tmp.resolve("a"));
        Path b = ServeFixtures.saveAdapter(model, LoraConfig.builder().r(2).loraAlpha(8)
                .targetParameters("mlp.experts.down_proj"), 6, tmp.resolve("b"));
        try (LanguageModel quantized = base(model, true)) {
            assertEquals(DType.NF4, quantized.stateDict().get("model.layers.0.mlp.experts.gate_up_proj").dtype());
        }
        long[][] prompts = prompts(model);
        float[][] batched = batched(model, true, a, b, prompts);
        assertArrayEquals(alone(model, true, null, prompts[1]), batched[1], "the base row");
        assertArrayEquals(alone(model, true, a, prompts[0]), batched[0], "row 0, its adapter alone");
        assertArrayEquals(alone(model, true, b, prompts[2]), batched[2], "row 2, its adapter alone");
        assertTrue(maxDifference(alone(model, true, null, prompts[0]), batched[0]) > 1e-3, "row 0 is not changed");
    }

    @ParameterizedTest
    @MethodSource("mixtures")
    void batchedRequestsEqualEachRequestAlone(String model, LoraConfig.Builder first, LoraConfig.Builder second,
                                              @TempDir Path tmp) throws Exception {
        Path a = ServeFixtures.saveAdapter(model, first, 3, tmp.resolve("a"));
        Path b = ServeFixtures.saveAdapter(model, second, 4, tmp.resolve("b"));
        try (LanguageModel base = ServeFixtures.load(model);
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(3).stepTokenBudget(7).build()) {
            engine.loadAdapter("a", a);
            engine.loadAdapter("b", b);
            ServeFixtures.assertBatchedRequestsEqualEachAlone(model, engine, Map.of("a", a, "b", b));
        }
    }

    private static long[][] prompts(String model) {
        try (LanguageModel base = ServeFixtures.load(model)) {
            return new long[][]{ServeFixtures.prompt(9, base.vocabSize(), 40), ServeFixtures.prompt(9, base.vocabSize(), 41),
                    ServeFixtures.prompt(9, base.vocabSize(), 42)};
        }
    }

    /** The float32 base, its weights quantized to NF4 as QLoRA's when {@code nf4}. */
    private static LanguageModel base(String model, boolean nf4) {
        LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model(model), F32);
        if (nf4) {
            QloraInjector.quantize(base);
        }
        return base;
    }

    /** The last position's logits of three prompts in one batch: rows of adapter a, of the base and of adapter b. */
    private static float[][] batched(String model, boolean nf4, Path a, Path b, long[][] prompts) {
        float[][] batched = new float[prompts.length][];
        try (LanguageModel base = base(model, nf4);
             AdapterFiles filesA = AdapterFiles.read(a); AdapterFiles filesB = AdapterFiles.read(b)) {
            AdapterSet set = new AdapterSet(base);
            set.load("a", filesA);
            set.load("b", filesB);
            LoraAdapter[] rows = {set.acquire("a"), set.acquire(null), set.acquire("b")};
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                float[] all = set.nextTokenLogits(rows, ModelInput.of(prompts, null)).toFloatArray();
                int vocab = all.length / prompts.length;
                for (int row = 0; row < prompts.length; row++) {
                    batched[row] = Arrays.copyOfRange(all, row * vocab, (row + 1) * vocab);
                }
            }
            rows[0].release();
            rows[2].release();
            set.close();
        }
        return batched;
    }

    /** The last position's logits of {@code prompt} alone, on the base or with the adapter in {@code adapter}. */
    private static float[] alone(String model, boolean nf4, Path adapter, long[] prompt) {
        try (LanguageModel base = base(model, nf4); var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            LogitsModel m = adapter == null ? base : Peft.load(base, adapter);
            return m.nextTokenLogits(ModelInput.of(new long[][]{prompt}, null)).toFloatArray();
        }
    }

    private static double maxDifference(float[] expected, float[] actual) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        return worst;
    }

    private static void assertMaxDifference(float[] expected, float[] actual, double tolerance, String what) {
        double worst = maxDifference(expected, actual);
        assertTrue(worst <= tolerance, what + ": logits differ by up to " + worst);
    }
}
