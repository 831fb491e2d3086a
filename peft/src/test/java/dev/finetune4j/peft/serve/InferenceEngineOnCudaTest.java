package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import dev.finetune4j.core.models.LogitsModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.Peft;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Serving on each CUDA device of {@link CudaTestDevices} (the CUDA backend with emulated kernels, and a GPU): eight
 * concurrent greedy requests over four adapters (LoRA and DoRA from Python PEFT, two saved here) and the bare base,
 * decoded in shared batches with a KV cache on the device, read prompts in chunks and give the tokens that core's
 * Generator gives each request alone on the CPU, in float32 and in bf16 ({@link Precision#BF16_MIXED}). In bf16 the
 * device keeps its weights in bf16, as a GPU serves them, and the CPU rounds its float32 ones to the same values at
 * each product.
 */
class InferenceEngineOnCudaTest {
    private static final double BF16_TIE = 1e-2;

    static Stream<Arguments> devicesAndPrecisions() {
        return CudaTestDevices.names().flatMap(d -> Stream.of(Precision.values()).map(p -> Arguments.of(d, p)));
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("devicesAndPrecisions")
    void batchedCompletionsOnTheDeviceEqualEachRequestAloneOnTheCpu(String name, Precision precision, @TempDir Path tmp)
            throws Exception {
        Device device = CudaTestDevices.require(name);
        Map<String, Path> adapters = BatchIndependenceTest.adapters("llama", tmp);
        List<String> names = new ArrayList<>(adapters.keySet());
        List<CompletionRequest> requests = new ArrayList<>();
        List<long[]> onCpu = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String adapter = i % 5 == 0 ? null : names.get(i % 5 - 1);
            GenerationConfig greedy = GenerationConfig.builder().maxNewTokens(5 + i).build();
            CompletionRequest r = new CompletionRequest(adapter, ServeFixtures.prompt(3 + 4 * i, 256, i), greedy);
            requests.add(r);
            try (var p = precision.use()) {
                onCpu.add(ServeFixtures.generateAlone("llama", adapter == null ? null : adapters.get(adapter),
                        r.promptTokens(), greedy));
            }
        }
        DType weights = precision == Precision.BF16_MIXED ? DType.BF16 : DType.F32;
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("llama"),
                LoadOptions.builder().device(device).dtype(weights).build());
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(8).stepTokenBudget(16)
                     .precision(precision).build()) {
            adapters.forEach(engine::loadAdapter);
            DeviceCounters before = device.counters();
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (CompletionRequest r : requests) {
                futures.add(engine.submit(r, t -> { }).completion());
            }
            for (int i = 0; i < requests.size(); i++) {
                Completion c = futures.get(i).get(120, TimeUnit.SECONDS);
                String what = "request " + i + " (adapter " + requests.get(i).adapter() + ") on " + device;
                if (precision == Precision.F32) {
                    assertArrayEquals(onCpu.get(i), c.tokens(), what);
                } else {
                    String adapter = requests.get(i).adapter();
                    assertEqualUpToANearTie(adapter == null ? null : adapters.get(adapter), requests.get(i).promptTokens(),
                            onCpu.get(i), c.tokens(), what);
                }
                assertEquals(FinishReason.LENGTH, c.finishReason());
            }
            assertEquals(0, engine.metrics().kvCacheTokensInUse());
            assertTrue(device.counters().since(before).launches() > 0, "the engine decoded on " + device);
        }
    }

    /**
     * One request asking for log-probabilities among seven greedy ones that choose on the device: its row alone is
     * read back (a slice of the device's logits), and its tokens and log-probabilities equal those of the same
     * request on a CPU engine; the greedy rows keep their tokens.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"emucuda:0", "cuda:0"})
    void aLogprobsRowAmongDeviceChosenRowsEqualsTheCpu(String name) throws Exception {
        Device device = CudaTestDevices.require(name);
        List<CompletionRequest> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add(new CompletionRequest(null, ServeFixtures.prompt(3 + 2 * i, 256, 50 + i),
                    GenerationConfig.greedy(6), List.of(), null, i == 5 ? 4 : CompletionRequest.NO_LOGPROBS));
        }
        List<Completion> onCpu = new ArrayList<>();
        try (LanguageModel cpuBase = ServeFixtures.load("llama"); InferenceEngine cpu = InferenceEngine.builder(cpuBase).build()) {
            for (CompletionRequest r : requests) {
                onCpu.add(cpu.submit(r, TokenListener.NONE).completion().get(60, TimeUnit.SECONDS));
            }
        }
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("llama"), LoadOptions.builder().device(device).build());
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(8).build()) {
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (CompletionRequest r : requests) {
                futures.add(engine.submit(r, TokenListener.NONE).completion());
            }
            for (int i = 0; i < requests.size(); i++) {
                Completion c = futures.get(i).get(120, TimeUnit.SECONDS);
                assertArrayEquals(onCpu.get(i).tokens(), c.tokens(), "request " + i + " on " + device);
                assertEquals(onCpu.get(i).logprobs().size(), c.logprobs().size());
                for (int k = 0; k < c.logprobs().size(); k++) {
                    TokenLogprobs expected = onCpu.get(i).logprobs().get(k);
                    TokenLogprobs got = c.logprobs().get(k);
                    assertEquals(expected.logprob(), got.logprob(), 1e-4, "request " + i + " token " + k);
                    for (int r = 0; r < expected.top().size(); r++) {
                        assertEquals(expected.top().get(r).logprob(), got.top().get(r).logprob(), 1e-4);
                    }
                }
            }
            assertEquals(6, futures.get(5).get().logprobs().size());
        }
    }

    /**
     * The device's greedy tokens equal the CPU's, or they part where the CPU's logits rank the two tokens within
     * {@value #BF16_TIE} of the largest logit: bf16 rounds each product to 8 significant bits, so a difference in the
     * last float32 bit of a sum (the device adds in another order) can move a value by a whole bf16 step, and greedy
     * decoding then takes the other of two nearly equal tokens. Often they are equal: the tiny model's bf16 logits
     * (the largest near 0.5) tie, and the CPU's argmax takes the lower id. After that the sequences are not comparable.
     */
    private static void assertEqualUpToANearTie(Path adapterDir, long[] prompt, long[] cpu, long[] device, String what) {
        assertEquals(cpu.length, device.length, what);
        int at = 0;
        while (at < cpu.length && cpu[at] == device[at]) {
            at++;
        }
        if (at == cpu.length) {
            return;
        }
        long[] context = LongStream.concat(LongStream.of(prompt), LongStream.of(cpu).limit(at)).toArray();
        float[] logits;
        try (LanguageModel base = ServeFixtures.load("llama"); var scope = TensorScope.open();
             var ng = Autograd.noGrad(); var p = Precision.BF16_MIXED.use()) {
            LogitsModel model = adapterDir == null ? base : Peft.load(base, adapterDir);
            logits = model.nextTokenLogits(ModelInput.of(new long[][]{context}, null)).toFloatArray();
        }
        double largest = 0;
        for (float v : logits) {
            largest = Math.max(largest, Math.abs(v));
        }
        double gap = logits[(int) cpu[at]] - logits[(int) device[at]];
        assertTrue(gap <= BF16_TIE * largest, what + ": token " + at + " is " + device[at] + ", not the CPU's " + cpu[at]
                + ", whose logit is higher by " + gap + " (largest logit " + largest + ")");
    }
}
