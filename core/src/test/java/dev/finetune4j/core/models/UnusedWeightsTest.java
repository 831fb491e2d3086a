package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.bert.BertConfig;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.tensor.Quantization;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Checkpoint tensors no parameter takes are reported (AutoModel logs them as transformers does): a Qwen2 file
 * read as llama used to drop its q/k/v biases silently and give other logits.
 */
class UnusedWeightsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void qwen2BiasesLoadedAsLlamaAreReported() throws Exception {
        List<String> unused = unused("/hf-tiny/qwen2", c -> c.put("model_type", "llama").remove("attention_bias"));
        assertEquals(List.of("model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.q_proj.bias",
                "model.layers.0.self_attn.v_proj.bias", "model.layers.1.self_attn.k_proj.bias",
                "model.layers.1.self_attn.q_proj.bias", "model.layers.1.self_attn.v_proj.bias"), unused.stream().sorted().toList());
    }

    @Test
    void anOwnOutputHeadUnderTiedEmbeddingsIsReported() throws Exception {
        assertEquals(List.of("lm_head.weight"), unused("/hf-tiny/llama", c -> c.put("tie_word_embeddings", true)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/hf-tiny/llama", "/hf-tiny/qwen2", "/hf-tiny/gpt2", "/references/mistral",
            "/references/qwen3", "/references/llama_rope_llama3", "/references/qwen2_rope_yarn"})
    void fixturesUseEveryTensor(String dir) throws Exception {
        assertEquals(List.of(), unused(dir, c -> { }));
    }

    @Test
    void aClassifierReportsAPretrainingHeadAndIgnoresItsEmbeddingBuffers(@TempDir Path tmp) throws Exception {
        Path fixture = Path.of(UnusedWeightsTest.class.getResource("/hf-tiny/bert_cls").toURI());
        BertConfig config = BertConfig.fromJson(AutoModel.readConfig(fixture));
        try (var model = new BertForSequenceClassification(TensorScope.detached(Device.cpu()), config)) {
            assertEquals(List.of(), AutoModel.loadWeights(model, fixture, Set.of(), null));
        }
        Path dir = Files.createDirectories(tmp.resolve("bert"));
        Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture); TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                tensors.put(name, ckpt.tensor(name));
            }
            tensors.put("bert.embeddings.position_ids", Tensor.of(scope, new float[] {0, 1, 2, 3}, 1, 4));
            tensors.put("cls.predictions.bias", Tensor.of(scope, new float[] {0.5f, -0.5f}, 2));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        }
        try (var model = new BertForSequenceClassification(TensorScope.detached(Device.cpu()), config)) {
            assertEquals(List.of("cls.predictions.bias"), AutoModel.loadWeights(model, dir, Set.of(), null));
        }
    }

    private static List<String> unused(String resource, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        Path dir = Path.of(UnusedWeightsTest.class.getResource(resource).toURI());
        ObjectNode config = (ObjectNode) AutoModel.readConfig(dir);
        edit.accept(config);
        try (LanguageModel model = AutoModel.newCausalLM(config, TensorScope.detached(Device.meta()));
             TensorScope weights = TensorScope.detached(Device.cpu());
             SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            return WeightLoader.load(model, ckpt, AutoModel::causalAlias, weights, null, Quantization.NONE,
                    new LoadProgress("test", 0, System::nanoTime, line -> { })).unused();
        }
    }
}
