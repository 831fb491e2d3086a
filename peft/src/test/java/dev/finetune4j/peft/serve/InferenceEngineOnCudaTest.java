package dev.finetune4j.peft.serve;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.DeviceCounters;
import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.LoadOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Serving on each CUDA device of {@link CudaTestDevices} (the CUDA backend with emulated kernels, and a GPU): eight
 * concurrent greedy requests over four adapters (LoRA and DoRA from Python PEFT, two saved here) and the bare base,
 * decoded in shared batches with a KV cache on the device, read prompts in chunks and give the tokens that core's
 * Generator gives each request alone on the CPU.
 */
class InferenceEngineOnCudaTest {

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void batchedCompletionsOnTheDeviceEqualEachRequestAloneOnTheCpu(String name, @TempDir Path tmp) throws Exception {
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
            onCpu.add(ServeFixtures.generateAlone("llama", adapter == null ? null : adapters.get(adapter),
                    r.promptTokens(), greedy));
        }
        try (LanguageModel base = AutoModel.loadCausalLM(ServeFixtures.model("llama"),
                LoadOptions.builder().device(device).build());
             InferenceEngine engine = InferenceEngine.builder(base).maxBatchSize(8).stepTokenBudget(16).build()) {
            adapters.forEach(engine::loadAdapter);
            DeviceCounters before = device.counters();
            List<CompletableFuture<Completion>> futures = new ArrayList<>();
            for (CompletionRequest r : requests) {
                futures.add(engine.submit(r, t -> { }).completion());
            }
            for (int i = 0; i < requests.size(); i++) {
                Completion c = futures.get(i).get(120, TimeUnit.SECONDS);
                assertArrayEquals(onCpu.get(i), c.tokens(), "request " + i + " (adapter " + requests.get(i).adapter()
                        + ") on " + device);
                assertEquals(FinishReason.LENGTH, c.finishReason());
            }
            assertEquals(0, engine.metrics().kvCacheTokensInUse());
            assertTrue(device.counters().since(before).launches() > 0, "the engine decoded on " + device);
        }
    }
}
