package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.peft.train.ClassificationDataset;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code train} ({@code task: classification}) and {@code eval --classification} share: the classifier of a
 * model folder with its class names and pad id, and JSONL rows {@code {"text": ..., "label": ...}} whose label is
 * one of the class names.
 */
final class ClassifierInputs {
    static final String TEXT = "text";
    static final String LABEL = "label";

    private ClassifierInputs() {
    }

    /**
     * The folder's sequence classifier on {@code device}. With {@code labels} (the config's labels, or
     * {@code eval --labels}) other than config.json's {@code id2label}, a decoder gets a new head for them; a config
     * without {@code pad_token_id} takes the tokenizer's pad (else end-of-sequence) id, by which a decoder finds each
     * row's last token.
     */
    static SequenceClassifierModule load(Path dir, Device device, List<String> labels, Tokenizer tok) {
        ModelInputs.requireModelFolder(dir);
        ClassifierConfig stored;
        try {
            stored = ClassifierConfig.fromJson(AutoModel.readConfig(dir));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot read " + dir.resolve("config.json").toAbsolutePath() + ": " + e.getMessage(), e);
        }
        boolean bert = AutoModel.readConfig(dir).path("model_type").asText("").equals("bert");
        ClassifierConfig wanted = labels == null ? stored : stored.withLabels(labels);
        if (wanted.padTokenId().isEmpty() && (tok.padTokenId().isPresent() || tok.eosTokenId().isPresent())) {
            wanted = wanted.withPadTokenId(tok.padTokenId().orElse(tok.eosTokenId().orElse(0)));
        }
        if (bert && !wanted.id2label().equals(stored.id2label())) {
            throw new BadInputException("labels " + wanted.id2label() + " differ from the BERT model's id2label "
                    + stored.id2label() + " in " + dir.resolve("config.json").toAbsolutePath() + "; a new head is offered "
                    + "for decoder models only: use the model's labels, or write them into its config.json");
        }
        try {
            return AutoModel.loadSequenceClassifier(dir, device, bert ? null : wanted);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot load a classifier from " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** One row of a classification file: its text, its label's index, and its line for messages. */
    record Row(String text, int label, long line) {
    }

    /**
     * The rows of {@code file}; a row without a string text or label, or with a label not in {@code labels}, is bad
     * input naming its line.
     */
    static List<Row> rows(Path file, List<String> labels) {
        List<Row> out = new ArrayList<>();
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(file, "fix or remove that line")) {
            if (!(row.object().get(TEXT) instanceof String text) || !(row.object().get(LABEL) instanceof String label)) {
                throw new BadInputException(file + " line " + row.line() + ": a classification row needs string fields '"
                        + TEXT + "' and '" + LABEL + "' (fields: " + List.copyOf(row.object().keySet()) + ")");
            }
            int index = labels.indexOf(label);
            if (index < 0) {
                throw new BadInputException(file + " line " + row.line() + ": label '" + label + "' is not one of the "
                        + "classes " + labels + "; fix the row, or list every class under 'labels' in the train config");
            }
            out.add(new Row(text, index, row.line()));
        }
        return out;
    }

    /** The rows tokenized (no special tokens), each cut to {@code maxLength} tokens. */
    static ClassificationDataset dataset(List<Row> rows, Tokenizer tok, int maxLength, Path file) {
        float[] labels = new float[rows.size()];
        List<String> texts = new ArrayList<>(rows.size());
        for (int i = 0; i < labels.length; i++) {
            labels[i] = rows.get(i).label();
            texts.add(rows.get(i).text());
        }
        try {
            return ClassificationDataset.fromTexts(texts, labels, tok, maxLength);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }
}
