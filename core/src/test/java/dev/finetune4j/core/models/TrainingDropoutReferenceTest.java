package dev.finetune4j.core.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.decoder.DecoderForSequenceClassification;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Training-mode dropout against transformers' classes in train() mode drawing the same masks
 * (tools/reference/training_dropout.py, references/training_dropout): GPT-2's three dropouts, LLaMA's attention
 * dropout, Phi-3's, StarCoder2's and Seed-OSS's residual dropouts (StarCoder2's on the embeddings too; Phi-3's
 * embd_pdrop, which its class ignores, set and ignored), ERNIE 4.5's attention_dropout ignored as its class does,
 * BERT's hidden, attention and classifier dropouts, RoBERTa's (its head's two dropouts; XLM-RoBERTa's falling back to
 * hidden_dropout_prob), DistilBERT's (none on the attention's output, seq_classif_dropout after pre_classifier), and a
 * decoder classifier's attention dropout. Each case's loss,
 * logits and gradients with dropout on equal the reference's (which moved the loss away from eval mode's); StarCoder2,
 * GPT-2, the BERT, RoBERTa, DistilBERT and decoder classifiers run again with gradient checkpointing, whose recompute
 * must redraw the same masks (each layer draws from a stream of its own, which the script's masks follow).
 */
class TrainingDropoutReferenceTest {
    private static final String DIR = "references/training_dropout/";

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "phi3", "starcoder2", "seed_oss", "ernie4_5", "bert_cls", "qwen2_cls", "roberta_cls",
            "xlm_roberta_cls", "distilbert_cls"})
    void trainingModeMatchesTransformersWithTheSameMasks(String name) throws Exception {
        check(name, false, Device.cpu(), tmp);
    }

    @ParameterizedTest
    @ValueSource(strings = {"starcoder2", "gpt2", "bert_cls", "roberta_cls", "distilbert_cls", "qwen2_cls"})
    void gradientCheckpointingRedrawsTheSameMasks(String name) throws Exception {
        check(name, true, Device.cpu(), tmp);
    }

    /**
     * The reference case {@code name} on {@code device}: loss, logits and gradients in training mode with the
     * reference's masks.
     *
     * @param name the case, a file of references/training_dropout
     * @param checkpointing whether the model recomputes its layers in the backward
     * @param device where the model runs
     * @param tmp a folder for the model's copy with the case's dropouts
     */
    static void check(String name, boolean checkpointing, Device device, Path tmp) throws Exception {
        JsonNode c = new ObjectMapper().readTree(ReferenceData.resource(DIR + "cases.json").toFile()).get(name);
        ReferenceData ref = ReferenceData.load(DIR + name + ".safetensors");
        Path folder = withOverrides(c.get("folder").asText(), c.get("overrides"), tmp);
        long[][] ids = ref.ids("input_ids");
        long seed = c.get("seed").asLong();
        boolean causal = c.get("kind").asText().equals("causal");
        try (var scope = TensorScope.open()) {
            Module model;
            Tensor logits;
            Tensor loss;
            if (causal) {
                LanguageModel lm = AutoModel.loadCausalLM(folder, ReferenceData.f32(device));
                model = lm;
                requireGradients(lm, ref);
                lm.gradientCheckpointing(checkpointing);
                lm.train(true);
                lm.seedDropout(seed);
                logits = lm.forward(ModelInput.of(ids, null));
                loss = ReferenceGradients.nextTokenLoss(logits, ids, lm.vocabSize());
            } else {
                SequenceClassifierModule classifier = AutoModel.loadSequenceClassifier(folder, device);
                model = classifier;
                requireGradients(classifier, ref);
                switch (classifier) {
                    case EncoderClassifier encoder -> encoder.gradientCheckpointing(checkpointing);
                    case DecoderForSequenceClassification decoder -> decoder.gradientCheckpointing(checkpointing);
                    default -> throw new IllegalStateException("no checkpointing for " + classifier.getClass());
                }
                classifier.train(true);
                classifier.seedDropout(seed);
                logits = classifier.forward(ids, ref.ids("attention_mask"));
                long[] labels = ref.longs.get("labels");
                loss = CrossEntropy.loss(logits, new int[]{(int) labels[0], (int) labels[1]});
            }
            String what = name + (checkpointing ? " with checkpointing" : "") + " on " + device;
            ReferenceGradients.assertClose(ref.floats.get("logits"), logits.toFloatArray(), 1e-5, what + " logits");
            assertEquals(ref.floats.get("loss")[0], loss.toFloatArray()[0], 2e-5, what + " loss");
            Autograd.backward(loss);
            Map<String, Tensor> weights = model.stateDict();
            for (Map.Entry<String, float[]> e : ref.floats.entrySet()) {
                if (e.getKey().startsWith("grad.")) {
                    Tensor w = weights.get(e.getKey().substring("grad.".length()));
                    ReferenceGradients.assertClose(e.getValue(), w.grad().toFloatArray(), 1e-4,
                            what + " " + e.getKey());
                }
            }
            ((AutoCloseable) model).close();
        }
    }

    private static void requireGradients(Module model, ReferenceData ref) {
        Map<String, Tensor> weights = model.stateDict();
        ref.floats.keySet().stream().filter(k -> k.startsWith("grad."))
                .forEach(k -> weights.get(k.substring("grad.".length())).requiresGrad(true));
    }

    /** A copy of the resource folder whose config.json carries the case's dropouts. */
    private static Path withOverrides(String resource, JsonNode overrides, Path tmp) throws Exception {
        Path dir = ReferenceFolders.copy(resource, List.of("config.json", "model.safetensors"),
                tmp.resolve(resource.replace('/', '_')));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        config.setAll((ObjectNode) overrides);
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));
        return dir;
    }
}
