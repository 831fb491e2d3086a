package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.peft.serve.ServeFixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA's {@code lora_dropout} beside the model's own dropouts against PEFT 0.21 over transformers in train() mode
 * drawing the same masks (tools/reference/training_dropout.py, LORA_CASES): a LLaMA with attention dropout and LoRA on
 * q_proj, v_proj and down_proj, and BERT, RoBERTa and DistilBERT classifiers with their hidden and attention dropouts,
 * LoRA at PEFT's targets (query and value; DistilBERT's q_lin and v_lin) and the saved head (RoBERTa's classifier.dense
 * and classifier.out_proj, with its two dropouts). The adapters' masks come from the model's streams between the model's own, in PEFT's
 * order of calls; loss, logits and every trainable tensor's gradient must equal PEFT's.
 */
class LoraDropoutReferenceTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama_lora", "bert_lora", "roberta_lora", "distilbert_lora"})
    void adapterDropoutDrawsThePeftMasksInOrder(String name) throws Exception {
        Path cases = resource("training_dropout/cases.json");
        JsonNode c = new ObjectMapper().readTree(cases.toFile()).get(name);
        Path adapter = cases.resolveSibling(name);
        Map<String, Tensor> reference = new LinkedHashMap<>();
        try (var scope = TensorScope.open();
             SafetensorsFile f = SafetensorsFile.open(adapter.resolve("reference.safetensors"))) {
            for (String n : f.names()) {
                reference.put(n, f.tensor(n).copyTo(f.tensor(n).device(), scope));
            }
            long[][] ids = Fixtures.ids(adapter, "input_ids");
            Path folder = withOverrides(c.get("folder").asText(), c.get("overrides"));
            long seed = c.get("seed").asLong();
            AdapterModel<?> model;
            AutoCloseable base;
            Tensor logits;
            Tensor loss;
            if (c.get("kind").asText().equals("causal")) {
                LanguageModel lm = AutoModel.loadCausalLM(folder);
                base = lm;
                PeftModel peft = Peft.loadTrainable(lm, adapter);
                model = peft;
                peft.train(true);
                lm.seedDropout(seed);
                logits = peft.forward(ModelInput.of(ids, null));
                loss = Fixtures.causalLoss(logits, ids);
            } else {
                SequenceClassifierModule classifier = AutoModel.loadSequenceClassifier(folder);
                base = classifier;
                PeftClassifier peft = Peft.loadTrainable(classifier, adapter);
                model = peft;
                peft.train(true);
                peft.seedDropout(seed);
                logits = peft.forward(ids, Fixtures.ids(adapter, "attention_mask"));
                long[] labels = reference.get("labels").toLongArray();
                loss = CrossEntropy.loss(logits, new int[]{(int) labels[0], (int) labels[1]});
            }
            assertClose(reference.get("logits").toFloatArray(), logits.toFloatArray(), 1e-5, name + " logits");
            assertEquals(reference.get("loss").toFloatArray()[0], loss.toFloatArray()[0], 2e-5, name + " loss");
            Autograd.backward(loss);
            Map<String, Tensor> trainable = model.trainableParameters();
            int checked = 0;
            for (Map.Entry<String, Tensor> e : reference.entrySet()) {
                if (e.getKey().startsWith("grad.")) {
                    Tensor p = trainable.get(e.getKey().substring("grad.".length()));
                    assertTrue(p != null, name + ": no trainable " + e.getKey() + " in " + trainable.keySet());
                    assertClose(e.getValue().toFloatArray(), p.grad().toFloatArray(), 1e-4, name + " " + e.getKey());
                    checked++;
                }
            }
            assertEquals(trainable.size(), checked, name + ": every trainable tensor's gradient is checked");
            base.close();
        }
    }

    /** Largest difference within {@code tolerance} of the largest |expected|. */
    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        double scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        StringBuilder where = new StringBuilder();
        double worst = Fixtures.maxAbs(actual, expected, where);
        assertTrue(worst <= tolerance * scale, what + ": largest difference " + where + ", largest |expected| "
                + scale);
    }

    /** A copy of the hf-tiny folder (or core's reference folder) whose config.json carries the case's dropouts. */
    private Path withOverrides(String resource, JsonNode overrides) {
        Map<String, String> fields = new LinkedHashMap<>();
        overrides.properties().forEach(e -> fields.put(e.getKey(), e.getValue().toString()));
        Path source = resource.startsWith("hf-tiny/") ? Fixtures.dir(resource.substring("hf-tiny/".length()))
                : ServeFixtures.model(resource);
        return Fixtures.modelWith(source, tmp.resolve("model"), fields);
    }

    private static Path resource(String path) throws URISyntaxException {
        return Path.of(LoraDropoutReferenceTest.class.getResource("/" + path).toURI());
    }
}
