package dev.finetune4j.it.readme;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.onnx.OnnxExporter;
import dev.finetune4j.peft.Peft;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java examples of onnx/README.md: export the fixture with its LoRA merged, then run it in ONNX Runtime; export a
 * classifier and score a padded batch with it.
 */
class OnnxGuideExamplesTest {
    @BeforeAll
    static void fixtures() throws Exception {
        Fixtures.layOut();
    }

    @Test
    void exportAMergedModelAndRunItInOnnxRuntime() throws Exception {
        Fixtures.delete(Path.of("my-model-onnx"));
        // example onnx/README.md#1
        try (LanguageModel base = AutoModel.loadCausalLM(Path.of("my-model"))) {
            LanguageModel merged = Peft.load(base, Path.of("my-adapter")).mergeAndUnload();   // a plain model: export it as it is
            System.out.println(OnnxExporter.export(merged, Path.of("my-model-onnx")));        // my-model-onnx/model.onnx
        }
        // end example
        assertTrue(Files.size(Path.of("my-model-onnx/model.onnx.data")) > 0, "the weights are in the external data file");

        // example onnx/README.md#2
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        inputs.put("input_ids", OnnxTensor.createTensor(env, new long[][] {{1, 15, 27, 3}}));
        inputs.put("attention_mask", OnnxTensor.createTensor(env, new long[][] {{1, 1, 1, 1}}));   // past + new tokens
        inputs.put("position_ids", OnnxTensor.createTensor(env, new long[][] {{0, 1, 2, 3}}));
        for (int layer = 0; layer < 2; layer++) {             // num_hidden_layers; no past before the first token:
            for (String part : List.of("key", "value")) {     // (batch, num_key_value_heads, 0, head_dim)
                inputs.put("past_key_values." + layer + "." + part,
                        OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[] {1, 2, 0, 16}));
            }
        }
        float[][][] logits;
        try (OrtSession session = env.createSession("my-model-onnx/model.onnx");
             OrtSession.Result result = session.run(inputs)) {
            logits = (float[][][]) result.get("logits").orElseThrow().getValue();   // (batch, seq, vocab)
            // next token: input_ids {{next}}, attention_mask of 5 ones, position_ids {{4}}, and each
            // result.get("present.N.key") / ("present.N.value") as past_key_values.N.key / .value
        }
        inputs.values().forEach(OnnxTensor::close);
        // end example
        float[][][] ours;
        try (LanguageModel base = AutoModel.loadCausalLM(Path.of("my-model"))) {
            ours = Peft.load(base, Path.of("my-adapter")).logits(new long[][] {{1, 15, 27, 3}}, null);
        }
        for (int t = 0; t < 4; t++) {
            for (int v = 0; v < ours[0][t].length; v++) {
                assertEquals(ours[0][t][v], logits[0][t][v], 1e-4, "logit of token " + v + " at position " + t);
            }
        }
    }

    @Test
    void exportAClassifierAndRunItInOnnxRuntime() throws Exception {
        Fixtures.delete(Path.of("my-classifier-onnx"));
        Fixtures.tinyClassifier();
        // example onnx/README.md#3
        try (SequenceClassifier classifier = AutoModel.loadSequenceClassifier(Path.of("my-classifier"))) {
            OnnxExporter.export(classifier, Path.of("my-classifier-onnx"), Path.of("my-classifier"));   // + config.json, tokenizer
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] scores;
        try (OrtSession session = env.createSession("my-classifier-onnx/model.onnx");
             OnnxTensor ids = OnnxTensor.createTensor(env, new long[][] {{0, 72, 105, 2}, {0, 89, 2, 1}});
             OnnxTensor mask = OnnxTensor.createTensor(env, new long[][] {{1, 1, 1, 1}, {1, 1, 1, 0}});   // row 1 padded
             OrtSession.Result result = session.run(Map.of("input_ids", ids, "attention_mask", mask))) {  // BERT: + token_type_ids
            scores = (float[][]) result.get("logits").orElseThrow().getValue();   // (batch, num_labels): id2label in config.json
        }
        // end example
        assertTrue(Files.isRegularFile(Path.of("my-classifier-onnx/tokenizer.json")), "the tokenizer is copied");
        float[][] ours;
        try (SequenceClassifier classifier = AutoModel.loadSequenceClassifier(Path.of("my-classifier"))) {
            ours = classifier.logits(new long[][] {{0, 72, 105, 2}, {0, 89, 2, 1}}, new long[][] {{1, 1, 1, 1}, {1, 1, 1, 0}});
        }
        for (int row = 0; row < 2; row++) {
            for (int label = 0; label < 3; label++) {
                assertEquals(ours[row][label], scores[row][label], 1e-4, "logit of label " + label + " in row " + row);
            }
        }
    }
}
