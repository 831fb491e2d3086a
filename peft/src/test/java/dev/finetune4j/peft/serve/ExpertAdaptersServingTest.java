package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.lora.LoraConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adapters on the experts of a mixture, served batched: per-expert linear layers (Mixtral's {@code w1 w2 w3},
 * Qwen3-MoE's {@code gate_proj up_proj down_proj}, with the router {@code gate}) and stacked expert parameters
 * (PEFT's {@code target_parameters} on gpt-oss's (E, in, out) and Mistral 4's (E, out, in) experts, and Gemma 4's,
 * whose experts and router {@code proj} sit on the layer beside its dense MLP). A batch of three
 * requests, two adapters and the bare base, gives each row the logits of its adapter alone bit for bit (and of that
 * adapter merged into the base, within rounding), and the base row the base model's bit for bit, although each expert
 * multiplies the three rows' tokens together; and greedy requests batched through the engine (chunked prefill, cached decoding) each get the
 * tokens core's Generator gives them alone.
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
        long[][] prompts = new long[3][];
        float[][] batched = new float[3][];
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model(model), F32);
             AdapterFiles filesA = AdapterFiles.read(a); AdapterFiles filesB = AdapterFiles.read(b)) {
            for (int row = 0; row < 3; row++) {
                prompts[row] = ServeFixtures.prompt(9, base.vocabSize(), 40 + row);
            }
            AdapterSet set = new AdapterSet(base);
            set.load("a", filesA);
            set.load("b", filesB);
            LoraAdapter[] rows = {set.acquire("a"), set.acquire(null), set.acquire("b")};
            try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
                float[] all = set.nextTokenLogits(rows, ModelInput.of(prompts, null)).toFloatArray();
                int vocab = all.length / 3;
                for (int row = 0; row < 3; row++) {
                    batched[row] = Arrays.copyOfRange(all, row * vocab, (row + 1) * vocab);
                }
            }
            rows[0].release();
            rows[2].release();
            set.close();
        }
        assertArrayEquals(alone(model, null, false, prompts[1]), batched[1], model + ": the base row");
        for (int row : new int[]{0, 2}) {
            Path adapter = row == 0 ? a : b;
            String what = model + ": row " + row;
            float[] unadapted = alone(model, null, false, prompts[row]);
            assertTrue(maxDifference(unadapted, batched[row]) > 1e-3, what + " is not changed by its adapter");
            assertArrayEquals(alone(model, adapter, false, prompts[row]), batched[row], what + ", its adapter alone");
            assertMaxDifference(alone(model, adapter, true, prompts[row]), batched[row], MERGED, what + ", its adapter merged");
        }
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

    /** The last position's logits of {@code prompt} alone: on the base, with the adapter, or with it merged. */
    private static float[] alone(String model, Path adapter, boolean merged, long[] prompt) {
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model(model), F32);
             var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            LogitsModel m = adapter == null ? base : merged ? Peft.load(base, adapter).mergeAndUnload() : Peft.load(base, adapter);
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
