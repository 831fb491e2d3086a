package dev.finetune4j.onnx;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.bert.BertConfig;
import dev.finetune4j.core.models.bert.DistilBertConfig;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.models.bert.EncoderConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The files a classifier's export holds beside the graph, so that the folder is what Optimum's
 * {@code ORTModelForSequenceClassification} and transformers' pipelines load: {@value #CONFIG_FILE}, written from the
 * classifier itself (its architecture, sizes and the labels it was trained with, which may differ from its source
 * folder's), and the tokenizer's files copied from a folder that has them. Stateless and thread-safe.
 */
final class ClassifierFiles {
    static final String CONFIG_FILE = "config.json";
    /** The tokenizer files of BERT's family that Hugging Face saves: fast, WordPiece, byte-level BPE, SentencePiece. */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
            "sentencepiece.bpe.model");
    private static final Map<String, String> ARCHITECTURES = Map.of("bert", "BertForSequenceClassification",
            "roberta", "RobertaForSequenceClassification", "xlm-roberta", "XLMRobertaForSequenceClassification",
            "distilbert", "DistilBertForSequenceClassification");

    private ClassifierFiles() {
    }

    /**
     * Writes {@value #CONFIG_FILE} into {@code dir} and copies into it those of {@link #TOKENIZER_FILES} that
     * {@code tokenizerFolder} holds (none when it is null).
     */
    static void write(EncoderClassifier classifier, Path tokenizerFolder, Path dir) throws IOException {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(CONFIG_FILE).toFile(),
                config(classifier));
        if (tokenizerFolder == null) {
            return;
        }
        for (String name : TOKENIZER_FILES) {
            if (Files.isRegularFile(tokenizerFolder.resolve(name))) {
                Files.copy(tokenizerFolder.resolve(name), dir.resolve(name));
            }
        }
    }

    /** Refuses a tokenizer folder that is not a folder (null passes: no tokenizer files). */
    static void requireTokenizerFolder(Path tokenizerFolder) {
        if (tokenizerFolder != null && !Files.isDirectory(tokenizerFolder, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("the tokenizer folder " + tokenizerFolder.toAbsolutePath() + " is not a "
                    + "folder: give the classifier's model folder (where its tokenizer.json lies), or none");
        }
    }

    /**
     * config.json as transformers names the fields of the classifier's family: its architecture, sizes, activation,
     * pad id, labels ({@code id2label}, {@code label2id}) and problem type; the graph's weights are float32.
     */
    static ObjectNode config(EncoderClassifier classifier) {
        EncoderConfig c = classifier.encoderConfig();
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.putArray("architectures").add(ARCHITECTURES.get(c.modelType()));
        json.put("model_type", c.modelType());
        json.put("dtype", "float32");
        json.put("vocab_size", c.vocabSize());
        json.put("max_position_embeddings", c.maxPositionEmbeddings());
        switch (c) {
            case DistilBertConfig d -> json.put("dim", d.dim()).put("n_layers", d.nLayers()).put("n_heads", d.nHeads())
                    .put("hidden_dim", d.hiddenDim()).put("activation", activationName(d.activation()))
                    .put("sinusoidal_pos_embds", d.sinusoidalPosEmbds());
            case BertConfig b -> json.put("hidden_size", b.hiddenSize()).put("num_hidden_layers", b.numHiddenLayers())
                    .put("num_attention_heads", b.numAttentionHeads()).put("intermediate_size", b.intermediateSize())
                    .put("hidden_act", activationName(b.hiddenAct())).put("type_vocab_size", b.typeVocabSize())
                    .put("layer_norm_eps", b.layerNormEps());
        }
        if (c.padTokenId().isPresent()) {
            json.put("pad_token_id", c.padTokenId().getAsInt());
        } else {
            json.putNull("pad_token_id");
        }
        ClassifierConfig labels = classifier.classifierConfig();
        ObjectNode id2label = json.putObject("id2label");
        ObjectNode label2id = json.putObject("label2id");
        for (int i = 0; i < labels.numLabels(); i++) {
            id2label.put(Integer.toString(i), labels.id2label().get(i));
            label2id.put(labels.id2label().get(i), i);
        }
        json.put("problem_type", labels.problemType().name().toLowerCase(Locale.ROOT));
        return json;
    }

    /** The name transformers reads for {@code kind} (GELU's tanh form under its usual name). */
    private static String activationName(Activations.Kind kind) {
        return switch (kind) {
            case GELU_EXACT -> "gelu";
            case GELU_TANH -> "gelu_new";
            case SILU -> "silu";
            case RELU -> "relu";
            case TANH -> "tanh";
            case SIGMOID -> "sigmoid";
            case SOFTPLUS -> "softplus";
            case RELU2 -> "relu2";
        };
    }
}
