package dev.finetune4j.samples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.io.SafetensorsCheckpoint;
import dev.finetune4j.core.io.SafetensorsFile;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tokenizer.ByteLevelTokenizer;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} ({@code task: classification}) and {@code eval --classification} on RoBERTa and DistilBERT base models
 * (core's references/roberta_cls and distilbert_cls saved as RobertaModel and DistilBertModel save themselves: no
 * prefix, no head, no labels): the classes of the train config get a head drawn for them, LoRA sits at the family's
 * default targets, and eval's predictions are the trained classifier's own argmax.
 */
class EncoderClassificationCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"roberta_cls, RobertaModel, roberta., query, classifier.out_proj.weight",
            "distilbert_cls, DistilBertModel, distilbert., q_lin, pre_classifier.weight"})
    void aBaseEncoderTrainsANewHeadAndEvalScoresIt(String reference, String architecture, String prefix,
                                                   String loraTarget, String headTensor) throws Exception {
        Path model = baseModel(reference, architecture, prefix);
        Files.write(dir.resolve("train.jsonl"), ClassificationCommandsTest.tickets(24, 0));
        Files.write(dir.resolve("test.jsonl"), ClassificationCommandsTest.tickets(9, 200));
        Path config = dir.resolve("train.yaml");
        Files.writeString(config, """
                model: model
                tokenizer: byte-level
                task: classification
                labels: [billing, refund, other]
                method: lora
                peft: {r: 4, lora_alpha: 8}
                data: {train: train.jsonl, max_length: 32}
                training: {max_steps: 24, micro_batch_size: 4, learning_rate: 2.0e-2, seed: 1}
                output: run
                """);
        CliTestSupport.Run train = CliTestSupport.run("train", "-c", config.toString());
        assertEquals(ExitCodes.OK, train.exitCode(), train.err());
        assertTrue(train.out().contains("classes: [billing, refund, other]"), train.out());
        Path adapter = dir.resolve("run/adapter");
        try (SafetensorsFile f = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            assertTrue(f.names().contains("base_model.model." + headTensor), f.names().toString());
            assertTrue(f.names().stream().anyMatch(n -> n.contains("." + loraTarget + ".lora_A.")), f.names().toString());
        }

        Path report = dir.resolve("eval.json");
        CliTestSupport.Run eval = CliTestSupport.run("eval", "--classification", "-m", model.toString(), "--adapter",
                adapter.toString(), "--labels", "billing,refund,other", "--tokenizer", "byte-level", "-d",
                dir.resolve("test.jsonl").toString(), "-o", report.toString());
        assertEquals(ExitCodes.OK, eval.exitCode(), eval.err());
        List<String> reported = new ArrayList<>();
        new ObjectMapper().readTree(report.toFile()).get("predictions").forEach(p -> reported.add(p.asText()));
        assertEquals(predictions(model, adapter), reported);
    }

    /** The classifier's argmax over the test rows, as the adapter loaded onto the base model scores them. */
    private static List<String> predictions(Path model, Path adapter) {
        List<String> out = new ArrayList<>();
        var tok = new ByteLevelTokenizer();
        List<String> labels = ClassificationCommandsTest.LABELS;
        try (var base = ClassifierInputs.load(model, Device.cpu(), labels, null, tok)) {
            PeftClassifier clf = Peft.load(base, adapter);
            for (int i = 0; i < 9; i++) {
                String text = ClassificationCommandsTest.WORDS.get(i % 3) + " " + (200 + i);
                float[] logits = clf.logits(new long[][]{tok.encode(text)}, null)[0];
                int best = 0;
                for (int k = 1; k < logits.length; k++) {
                    best = logits[k] > logits[best] ? k : best;
                }
                out.add(labels.get(best));
            }
        }
        return out;
    }

    /** The reference folder as its base model saves itself: the weights without the prefix and the head, no labels. */
    private Path baseModel(String reference, String architecture, String prefix) throws Exception {
        Path source = ReferenceFolders.copy("references/" + reference, List.of("config.json", "model.safetensors"),
                dir.resolve("source"));
        Path model = Files.createDirectories(dir.resolve("model"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(source.resolve("config.json").toFile());
        c.remove(List.of("id2label", "label2id"));
        c.putArray("architectures").add(architecture);
        json.writeValue(model.resolve("config.json").toFile(), c);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(source)) {
            Map<String, Tensor> body = new LinkedHashMap<>();
            for (String name : ckpt.names()) {
                if (name.startsWith(prefix)) {
                    body.put(name.substring(prefix.length()), ckpt.tensor(name));
                }
            }
            SafetensorsWriter.write(model.resolve("model.safetensors"), body, Map.of("format", "pt"));
        }
        return model;
    }
}
