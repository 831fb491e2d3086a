package dev.finetune4j.peft;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.bert.BertForSequenceClassification;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.adapter.BottleneckConfig;
import dev.finetune4j.peft.freeze.FreezeConfig;
import dev.finetune4j.peft.prefix.PrefixTuningConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bottleneck adapters, layer freezing and reparameterized prefixes: placement, identity at init, gradients, disabling. */
class MethodsTest {
    private static final long[][] IDS = {{1, 5, 9, 200, 3, 77}, {4, 4, 250, 31, 0, 9}};

    @Test
    void houlsbyAndPfeifferPlaceAdaptersAndStartAsTheIdentity() {
        for (String model : new String[]{"llama", "gpt2"}) {
            try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir(model))) {
                float[] plain = Fixtures.flat(base.logits(IDS, null));
                PeftModel m = Peft.wrap(base, new BottleneckConfig(BottleneckConfig.Placement.HOULSBY, 4, Activations.Kind.RELU, null));
                assertEquals(2 * 2 * 4, m.adapterTensors().size(), model + ": attention + MLP adapters in 2 layers, 4 tensors each");
                assertArrayEquals(plain, Fixtures.flat(m.logits(IDS, null)), model + ": up projection starts at zero");
                assertEquals(16, m.adapterTensors().values().iterator().next().dim(0), "bottleneck 64 / 4");
                assertAllGradientsFlow(m);
                org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class, m::mergeAndUnload);
            }
        }
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            PeftModel m = Peft.wrap(base, new BottleneckConfig(BottleneckConfig.Placement.PFEIFFER, 16, Activations.Kind.GELU_EXACT, null));
            assertTrue(m.adapterTensors().keySet().stream().allMatch(k -> k.contains(".mlp.adapter_")), m.adapterTensors().keySet().toString());
            assertEquals(8, m.adapterTensors().size());
        }
        try (var base = AutoModel.loadSequenceClassifier(Fixtures.dir("bert_cls"))) {
            PeftClassifier m = Peft.wrap(base, new BottleneckConfig(BottleneckConfig.Placement.HOULSBY, 8, null, "SEQ_CLS"));
            assertTrue(m.adapterTensors().containsKey("base_model.model.bert.encoder.layer.1.output.dense.adapter_up.weight"));
            assertTrue(m.adapterTensors().containsKey("base_model.model.bert.encoder.layer.0.attention.output.dense.adapter_down.bias"));
        }
    }

    @Test
    void freezeTrainsTheTopLayersAndNamedParametersOnly() { // disableAdapter() declares no checked exception
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("llama"))) {
            float[] plain = Fixtures.flat(base.logits(IDS, null));
            PeftModel m = Peft.wrap(base, new FreezeConfig(1, List.of("^model\\.norm\\."), null));
            Map<String, Tensor> t = m.trainableParameters();
            assertTrue(t.keySet().stream().allMatch(k -> k.contains("model.layers.1.") || k.endsWith("model.norm.weight")), t.keySet().toString());
            assertTrue(t.containsKey("base_model.model.model.layers.1.mlp.down_proj.weight"));
            assertFalse(t.containsKey("base_model.model.model.layers.0.mlp.down_proj.weight"));
            assertAllGradientsFlow(m);
            Tensor w = t.get("base_model.model.model.layers.1.mlp.down_proj.weight");
            w.setFlat(0, w.getFlat(0) + 1f);
            float[] tuned = Fixtures.flat(m.logits(IDS, null));
            try (var off = m.disableAdapter()) {
                assertArrayEquals(plain, Fixtures.flat(m.logits(IDS, null)), "disabled: the original weights are back");
            }
            assertArrayEquals(tuned, Fixtures.flat(m.logits(IDS, null)), "enabled again: the trained weights are back");
        }
    }

    @Test
    void reparameterizedPrefixTrainsTheMlpAndSavesItsOutput(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        try (LanguageModel base = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
            PeftModel m = Peft.wrap(base, new PrefixTuningConfig(4, true, 24, "CAUSAL_LM"));
            assertEquals(5, m.trainableParameters().size(), "embedding and two linear layers");
            assertAllGradientsFlow(m);
            float[][][] before = m.logits(IDS, null);
            m.save(tmp.resolve("p"));
            try (LanguageModel again = AutoModel.loadCausalLM(Fixtures.dir("qwen2"))) {
                PeftModel loaded = Peft.load(again, tmp.resolve("p"));
                assertEquals(List.of("prompt_embeddings"), List.copyOf(loaded.adapterTensors().keySet()));
                assertEquals(2 * 2 * 32, loaded.adapterTensors().get("prompt_embeddings").dim(1), "layers x (k, v) x kv heads x head dim");
                assertArrayEquals(Fixtures.flat(before), Fixtures.flat(loaded.logits(IDS, null)), 1e-5f);
            }
        }
    }

    static void assertAllGradientsFlow(PeftModel m) {
        m.train(true);
        try (var scope = TensorScope.open()) {
            Autograd.backward(Reductions.mean(m.forward(ModelInput.of(IDS, null))));
        }
        m.trainableParameters().forEach((n, t) -> assertNotNull(t.grad(), "no gradient reached " + n));
        m.train(false);
    }
}
