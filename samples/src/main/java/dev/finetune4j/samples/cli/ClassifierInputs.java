package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ClassifierConfig;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.models.bert.EncoderConfig;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftClassifier;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.train.ClassificationDataset;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code train} ({@code task: classification}) and {@code eval --classification} share: the classifier of a
 * model folder with its class names, problem type and pad id, and JSONL rows {@code {"text": ..., "label": ...}} whose
 * label is one of the class names (multi-label: {@code {"text": ..., "labels": [...]}}, any number of them). A row
 * with a second text, {@code "text_pair"} (transformers' name for it: {@code tokenizer(text, text_pair)}), is a
 * sentence pair, encoded with the tokenizer's pair template and its token types; both field names can be changed
 * ({@link Fields}: GLUE's {@code sentence1}/{@code sentence2}, NLI's {@code premise}/{@code hypothesis}).
 */
final class ClassifierInputs {
    static final String LABEL = "label";
    static final String LABELS = "labels";

    private ClassifierInputs() {
    }

    /**
     * The folder's sequence classifier on {@code device} (BERT, RoBERTa, XLM-RoBERTa, DistilBERT or a decoder; a folder
     * without the head, such as a base model or a causal LM, gets one drawn). With {@code labels} (the config's labels,
     * or {@code eval --labels}) other than config.json's {@code id2label}, the head gets a new projection onto them; with
     * {@code problemType} (the config's {@code problem_type}, or {@code eval --problem-type}) the loss and predictions
     * are that type's, else config.json's; a config without {@code pad_token_id} takes the tokenizer's pad (else
     * end-of-sequence) id, by which a decoder finds each row's last token.
     */
    static SequenceClassifierModule load(Path dir, Device device, List<String> labels, String problemType, Tokenizer tok) {
        ClassifierConfig wanted = wanted(dir, labels, problemType);
        if (wanted.padTokenId().isEmpty() && (tok.padTokenId().isPresent() || tok.eosTokenId().isPresent())) {
            wanted = wanted.withPadTokenId(tok.padTokenId().orElse(tok.eosTokenId().orElse(0)));
        }
        return load(dir, device, wanted);
    }

    /**
     * The folder's encoder classifier (BERT, RoBERTa, XLM-RoBERTa, DistilBERT), which finds its pad id in config.json,
     * with {@code labels} and {@code problemType} as {@link #load(Path, Device, List, String, Tokenizer)} takes them.
     */
    static SequenceClassifierModule loadEncoder(Path dir, Device device, List<String> labels, String problemType) {
        return load(dir, device, wanted(dir, labels, problemType));
    }

    /**
     * Whether {@code dir}'s config.json names an encoder of BERT's family (bert, roberta, xlm-roberta, distilbert): a
     * classifier folder, which the exports write as a classifier.
     */
    static boolean isEncoderFolder(Path dir) {
        try {
            return EncoderConfig.MODEL_TYPES.contains(AutoModel.readConfig(dir).path("model_type").asText(""));
        } catch (UncheckedIOException e) {
            throw new BadInputException(e.getMessage() + "; fix or replace the model folder's config.json", e);
        }
    }

    /** {@code base} with the adapter of folder {@code adapter} merged into it (the same classifier, changed). */
    static SequenceClassifier merged(SequenceClassifierModule base, Path adapter) {
        PeftClassifier adapted;
        try {
            adapted = Peft.load(base, adapter);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot load the adapter " + adapter.toAbsolutePath() + " onto the classifier: "
                    + e.getMessage() + " (--labels must list the classes it was trained with)", e);
        }
        try {
            return adapted.mergeAndUnload();
        } catch (UnsupportedOperationException | IllegalStateException e) {
            throw new BadInputException("this adapter cannot be merged: " + e.getMessage(), e);
        }
    }

    /** config.json's labels and problem type, or those given in their place. */
    private static ClassifierConfig wanted(Path dir, List<String> labels, String problemType) {
        ModelInputs.requireModelFolder(dir);
        ClassifierConfig stored;
        try {
            stored = ClassifierConfig.fromJson(AutoModel.readConfig(dir));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot read " + dir.resolve("config.json").toAbsolutePath() + ": " + e.getMessage(), e);
        }
        ClassifierConfig wanted = labels == null ? stored : stored.withLabels(labels);
        if (problemType != null) {
            try {
                wanted = wanted.withProblemType(ProblemType.of(problemType, wanted.numLabels()));
            } catch (IllegalArgumentException e) {
                throw new BadInputException("problem_type '" + problemType + "': " + e.getMessage(), e);
            }
        }
        return wanted;
    }

    private static SequenceClassifierModule load(Path dir, Device device, ClassifierConfig wanted) {
        try {
            return AutoModel.loadSequenceClassifier(dir, device, wanted);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot load a classifier from " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The fields of a row's texts.
     *
     * @param text the first (or only) text's field
     * @param textPair the second text's field; a row without it is a single text
     */
    record Fields(String text, String textPair) {
        static final Fields DEFAULT = new Fields("text", "text_pair");

        /** The given names, each null taking its default. */
        static Fields of(String text, String textPair) {
            return new Fields(text == null ? DEFAULT.text : text, textPair == null ? DEFAULT.textPair : textPair);
        }
    }

    /**
     * One row of a classification file: its text (and second text, or null), its target (the label's index; multi-label, a 0/1 per class) and
     * its line for messages.
     */
    record Row(String text, String textPair, float[] target, long line) {
    }

    /**
     * The rows of {@code file}; a row without a string text or label (multi-label: a list of labels), or with a label
     * not in {@code labels}, is bad input naming its line.
     */
    static List<Row> rows(Path file, List<String> labels, boolean multiLabel, Fields fields) {
        String field = multiLabel ? LABELS : LABEL;
        List<Row> out = new ArrayList<>();
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(file, "fix or remove that line")) {
            Object given = row.object().get(field);
            boolean shaped = multiLabel ? given instanceof List<?> list && list.stream().allMatch(String.class::isInstance)
                    : given instanceof String;
            Object pair = row.object().get(fields.textPair());
            if (!(row.object().get(fields.text()) instanceof String text) || !shaped
                    || pair != null && !(pair instanceof String)) {
                throw new BadInputException(file + " line " + row.line() + ": a " + (multiLabel ? "multi-label " : "")
                        + "classification row needs a string field '" + fields.text() + "' (and, for a sentence pair, a "
                        + "string field '" + fields.textPair() + "') and " + (multiLabel
                        ? "a list of label names '" + LABELS + "' (empty for none)" : "a string field '" + LABEL + "'")
                        + " (fields: " + List.copyOf(row.object().keySet()) + ")");
            }
            List<?> names = multiLabel ? (List<?>) given : List.of(given);
            float[] target = new float[multiLabel ? labels.size() : 1];
            for (Object name : names) {
                int index = labels.indexOf(name);
                if (index < 0) {
                    throw new BadInputException(file + " line " + row.line() + ": label '" + name + "' is not one of the "
                            + "classes " + labels + "; fix the row, or list every class under 'labels' in the train config");
                }
                if (multiLabel) {
                    target[index] = 1;
                } else {
                    target[0] = index;
                }
            }
            out.add(new Row(text, (String) pair, target, row.line()));
        }
        return out;
    }

    /**
     * The rows tokenized as transformers' tokenizer(text, truncation=True, max_length=maxLength), special tokens
     * included; pairs as tokenizer(text, text_pair, ...) with their token types.
     */
    static ClassificationDataset dataset(List<Row> rows, Tokenizer tok, int maxLength, Path file) {
        float[][] targets = new float[rows.size()][];
        List<String> texts = new ArrayList<>(rows.size());
        List<String> pairs = new ArrayList<>(rows.size());
        for (int i = 0; i < targets.length; i++) {
            targets[i] = rows.get(i).target();
            texts.add(rows.get(i).text());
            pairs.add(rows.get(i).textPair());
        }
        try {
            return ClassificationDataset.fromTextPairs(texts, pairs, targets, tok, maxLength);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }
}
