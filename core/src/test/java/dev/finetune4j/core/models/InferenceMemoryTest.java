package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A forward pass without gradient recording frees each layer's intermediate tensors when the layer returns, so its
 * peak memory does not grow with the depth of the model; with recording (which the backward needs) it does. Counted
 * exactly by the CPU backend's allocation counter, over a 128-token prompt through models of 2 and 8 layers shaped
 * like the tiny fixtures (zero weights: the values do not matter here), with a KV cache that must survive.
 */
class InferenceMemoryTest {
    private static final int TOKENS = 128;

    @ParameterizedTest
    @CsvSource({"hf-tiny/llama, num_hidden_layers", "hf-tiny/gpt2, n_layer"})
    void inferencePeakDoesNotGrowWithDepth(String dir, String layersKey) throws Exception {
        long shallow = forwardPeak(dir, layersKey, 2, false);
        long deep = forwardPeak(dir, layersKey, 8, false);
        assertTrue(deep <= 1.5 * shallow, dir + ": 8 layers took " + deep + " bytes beyond the weights, 2 layers " + shallow);
        long recordedShallow = forwardPeak(dir, layersKey, 2, true);
        long recordedDeep = forwardPeak(dir, layersKey, 8, true);
        assertTrue(recordedDeep >= 2.5 * recordedShallow, dir + ": with recording, 8 layers took " + recordedDeep
                + " bytes, 2 layers " + recordedShallow + ": the check above would not see activations kept");
    }

    /** The peak bytes a prompt's forward pass (with a generation cache) allocates beyond what was live before it. */
    private static long forwardPeak(String dir, String layersKey, int layers, boolean recording) throws Exception {
        ObjectNode config = (ObjectNode) AutoModel.readConfig(ReferenceData.resource(dir));
        config.put(layersKey, layers);
        Backend cpu = Device.cpu().backend();
        try (var weights = TensorScope.detached(); LanguageModel lm = AutoModel.newCausalLM(config, weights);
             var scope = TensorScope.open(); var grad = recording ? Autograd.enableGrad() : Autograd.noGrad()) {
            long[][] ids = {new long[TOKENS]};
            KvCache cache = KvCache.forGeneration(layers, TOKENS);
            long before = cpu.memory().allocatedBytes();
            cpu.resetPeak();
            lm.hiddenStates(new ModelInput(ids, null, null, null, cache));
            return cpu.memory().peakBytes() - before;
        }
    }
}
