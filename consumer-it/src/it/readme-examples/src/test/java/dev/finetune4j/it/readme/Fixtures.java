package dev.finetune4j.it.readme;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.SafetensorsWriter;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.nn.StateDicts;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.data.preference.Feedback;
import dev.finetune4j.peft.train.PreferenceExample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Lays out, in the working directory, the files the examples name by relative path: the tiny LLaMA fixture (2
 * layers, vocabulary 256) under every model folder name the examples use, the LoRA adapter Python PEFT wrote for
 * it, the byte-level BPE tokenizer fixture, and small JSONL and synonym files.
 */
final class Fixtures {
    /** The folder with the fixtures, given by the invoking build. */
    static final Path SOURCE = Path.of(System.getProperty("finetune4j.fixtures"));

    private Fixtures() {
    }

    static void layOut() throws IOException {
        Path model = SOURCE.resolve("tiny-llama");
        for (String name : List.of("models/Qwen2.5-0.5B-Instruct", "Qwen2-0.5B", "Qwen2.5-0.5B", "my-model")) {
            copyModel(model, Path.of(name));
        }
        for (String name : List.of("my-adapter", "adapter-from-python-peft")) {
            copyFolder(model.resolve("lora"), Path.of(name));
        }
        copyFolder(SOURCE.resolve("bytebpe-tokenizer"), Path.of("Qwen2.5-0.5B-Instruct"));
        Files.write(Path.of("raw.jsonl"), supportRecords());
        Files.writeString(Path.of("cilin.txt"), "Ba01A01= 账户 帐户 账号\nBa01A02= 密码 口令\n");
        Files.createDirectories(Path.of("out"));
    }

    /** The tiny LLaMA fixture's folder (config.json and model.safetensors). */
    static Path tinyLlama() {
        return Path.of("models/Qwen2.5-0.5B-Instruct");
    }

    /**
     * A LLaMA decoder shaped like the fixture but with the byte-level BPE tokenizer's 270 ids (the 256-id fixture
     * cannot embed its merges and chat tokens), saved as a Hugging Face folder. Its weights are zeros: the example
     * that uses it only has to tokenize, build and run a trainer.
     */
    static Path byteBpeModel() throws IOException {
        Path dir = Path.of("models/bytebpe-llama");
        if (Files.exists(dir.resolve("model.safetensors"))) {
            return dir;
        }
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(tinyLlama().resolve("config.json").toFile());
        config.put("vocab_size", 270);
        try (LanguageModel model = AutoModel.newCausalLM(config, TensorScope.detached())) {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), config.toPrettyString());
            SafetensorsWriter.write(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        }
        return dir;
    }

    /**
     * A tiny RoBERTa classifier (2 layers, hidden size 32, the byte-level BPE tokenizer's 270 ids, labels billing,
     * refund and other) with weights drawn from N(0, 0.2), saved as a Hugging Face folder with that tokenizer.
     */
    static Path tinyClassifier() throws IOException {
        Path dir = Path.of("my-classifier");
        delete(dir);
        ObjectNode config = new ObjectMapper().createObjectNode().put("model_type", "roberta").put("vocab_size", 270)
                .put("hidden_size", 32).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("intermediate_size", 64).put("max_position_embeddings", 40).put("type_vocab_size", 1)
                .put("layer_norm_eps", 1e-5).put("pad_token_id", 1);
        config.putArray("architectures").add("RobertaForSequenceClassification");
        config.putObject("id2label").put("0", "billing").put("1", "refund").put("2", "other");
        try (EncoderClassifier model = EncoderClassifier.of(TensorScope.detached(), EncoderConfig.fromJson(config),
                ClassifierConfig.fromJson(config))) {
            StateDicts.initNormal(model, 0.2, new SplittableRandom(3));
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), config.toPrettyString());
            SafetensorsWriter.write(dir.resolve("model.safetensors"), model.stateDict(), Map.of("format", "pt"));
        }
        copyFolder(SOURCE.resolve("bytebpe-tokenizer"), dir);
        return dir;
    }

    /** Deletes a folder an earlier example may have written (a checkpoint directory, say). */
    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** {@code n} sequences of {@code length} byte ids: a small training set for the 256-id fixture. */
    static long[][] tokenIds(int n, int length) {
        long[][] ids = new long[n][length];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < length; t++) {
                ids[i][t] = 32 + (7L * i + 3L * t) % 90;
            }
        }
        return ids;
    }

    /** Labels for {@link #tokenIds}: the first half of each sequence is the prompt (-100, no loss). */
    static long[][] completionLabels(long[][] ids) {
        long[][] labels = new long[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            labels[i] = ids[i].clone();
            Arrays.fill(labels[i], 0, ids[i].length / 2, -100L);
        }
        return labels;
    }

    /** Preference pairs over byte ids. */
    static List<PreferenceExample> preferencePairs() {
        return List.of(new PreferenceExample(new long[] {72, 105, 63}, new long[] {89, 101, 115}, new long[] {78, 111}),
                new PreferenceExample(new long[] {81, 63}, new long[] {65, 33}, new long[] {66, 46, 46}));
    }

    /** Thumbs up and down on two answers to one prompt, by two raters. */
    static List<Feedback> thumbsVotes() {
        Instant t = Instant.parse("2026-11-01T10:00:00Z");
        return List.of(new Feedback.Vote("How do I reset my password?", "Open Settings, then Security.", true, "r1", t),
                new Feedback.Vote("How do I reset my password?", "Open Settings, then Security.", true, "r2", t),
                new Feedback.Vote("How do I reset my password?", "I do not know.", false, "r1", t),
                new Feedback.Vote("How do I reset my password?", "I do not know.", false, "r2", t));
    }

    /** Alpaca-shaped support records with a label, some with PII and duplicates. */
    private static List<String> supportRecords() {
        List<String> lines = new ArrayList<>();
        String[] labels = {"card", "account", "insurance"};
        for (int i = 0; i < 30; i++) {
            String label = labels[i % 3];
            lines.add("{\"instruction\": \"Question " + i + " about my " + label + ", mail me at user" + i
                    + "@example.com\", \"output\": \"Here is the answer number " + i + " about your " + label
                    + ".\", \"label\": \"" + label + "\"}");
        }
        lines.add(lines.get(0));
        return lines;
    }

    private static void copyModel(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String file : List.of("config.json", "model.safetensors")) {
            Files.copy(from.resolve(file), to.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
