package dev.finetune4j.samples.cli;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.models.SequenceClassifier;
import dev.finetune4j.core.models.SequenceClassifierModule;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.data.format.JsonObjectLines;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.Peft;
import dev.finetune4j.peft.PeftException;
import dev.finetune4j.peft.train.ClassificationBatch;
import dev.finetune4j.peft.train.ClassificationDataset;
import dev.finetune4j.peft.train.ClassificationExample;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code eval --classification}: accuracy, macro and weighted precision/recall/F1 and the per-class report (eval's
 * {@link ClassificationMetrics}, scikit-learn's definitions) of predicted labels, read from a predictions file or
 * predicted by a classifier (with its adapter) over {@code {"text", "label"}} rows (sentence pairs: with
 * {@code "text_pair"}); for a multi-label classifier,
 * over {@code {"text", "labels"}} rows, subset accuracy and micro, macro and weighted scores.
 */
final class ClassificationEval {
    private ClassificationEval() {
    }

    /**
     * The report of a file of {@code {"prediction": label, "reference": label}} rows; rows of label lists
     * ({@code {"prediction": [...], "reference": [...]}}) are multi-label, their classes the sorted names seen (as
     * scikit-learn's MultiLabelBinarizer).
     */
    static Map<String, Object> ofPredictions(Path file) {
        List<Object> predicted = new ArrayList<>();
        List<Object> expected = new ArrayList<>();
        boolean multiLabel = false;
        for (JsonObjectLines.Ok row : JsonlFile.readRecords(file, "fix or remove that line")) {
            Object p = row.object().get("prediction");
            Object r = row.object().get("reference");
            boolean labels = p instanceof String && r instanceof String;
            boolean lists = names(p) != null && names(r) != null;
            boolean mixed = !predicted.isEmpty() && lists != multiLabel;
            if (!labels && !lists || mixed) {
                throw new BadInputException(file + " line " + row.line() + ": --classification --predictions rows need "
                        + "fields 'prediction' and 'reference' that are both labels (strings) or, in every row, both "
                        + "lists of labels (multi-label)");
            }
            multiLabel = lists;
            predicted.add(p);
            expected.add(r);
        }
        if (!multiLabel) {
            return report(ClassificationMetrics.compute(expected.stream().map(String.class::cast).toList(),
                    predicted.stream().map(String.class::cast).toList()), List.of(Average.MACRO, Average.WEIGHTED), null);
        }
        TreeSet<String> sorted = new TreeSet<>();
        expected.forEach(e -> sorted.addAll(names(e)));
        predicted.forEach(e -> sorted.addAll(names(e)));
        List<String> classes = List.copyOf(sorted);
        return report(ClassificationMetrics.computeMultiLabel(classes, indicators(expected, classes),
                indicators(predicted, classes)), List.of(Average.MICRO, Average.MACRO, Average.WEIGHTED), null);
    }

    /** The label names of a JSON list of strings, else null. */
    private static List<String> names(Object value) {
        return value instanceof List<?> list && list.stream().allMatch(String.class::isInstance)
                ? list.stream().map(String.class::cast).toList() : null;
    }

    /** [row][class]: whether the row's list names the class. */
    private static boolean[][] indicators(List<Object> rows, List<String> classes) {
        boolean[][] out = new boolean[rows.size()][classes.size()];
        for (int i = 0; i < out.length; i++) {
            for (String name : names(rows.get(i))) {
                out[i][classes.indexOf(name)] = true;
            }
        }
        return out;
    }

    /**
     * The report of the classifier in {@code modelDir} (with {@code adapter}, if not null) over {@code data}: each row's
     * class is the one of largest logit (multi-label: every class whose logit is above 0, transformers' threshold of
     * σ(x) > 1/2), rows classified {@code batchSize} at a time.
     *
     * @param labels      the class names when the model's config.json does not hold the trained ones (a head trained
     *                    from a causal LM), else null
     * @param problemType the problem type the adapter was trained for when config.json does not say it, else null
     * @param fields      the rows' text fields
     */
    static Map<String, Object> ofModel(Path modelDir, Path adapter, Path data, List<String> labels, String problemType,
                                       ClassifierInputs.Fields fields, Tokenizer tok, Device device, int batchSize,
                                       int maxLength, PrintWriter progress) {
        try (SequenceClassifierModule base = ClassifierInputs.load(modelDir, device, labels, problemType, tok)) {
            List<String> classes = base.classifierConfig().id2label();
            boolean multiLabel = base.classifierConfig().problemType() == ProblemType.MULTI_LABEL_CLASSIFICATION;
            List<ClassifierInputs.Row> rows = ClassifierInputs.rows(data, classes, multiLabel, fields);
            int limit = Math.min(maxLength, base.spec().maxPositionEmbeddings());
            ClassificationDataset examples = ClassifierInputs.dataset(rows, tok, limit, data);
            SequenceClassifier model = adapter == null ? base : loadAdapter(base, adapter);
            long pad = base.classifierConfig().padTokenId().orElse(0);
            List<float[]> logits = new ArrayList<>(examples.size());
            for (int start = 0; start < examples.size(); start += batchSize) {
                List<ClassificationExample> batch = examples.examples().subList(start, Math.min(start + batchSize, examples.size()));
                logits.addAll(List.of(ClassificationBatch.of(batch, pad, model).logits(model)));
                progress.printf("classified %d of %d rows%n", logits.size(), examples.size());
                progress.flush();
            }
            return multiLabel ? multiLabelReport(classes, examples, logits) : singleLabelReport(classes, examples, logits);
        }
    }

    private static Map<String, Object> singleLabelReport(List<String> classes, ClassificationDataset examples,
                                                         List<float[]> logits) {
        List<String> predicted = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < logits.size(); i++) {
            predicted.add(classes.get(argmax(logits.get(i))));
            expected.add(classes.get((int) examples.get(i).label()));
        }
        return report(ClassificationMetrics.compute(expected, predicted), List.of(Average.MACRO, Average.WEIGHTED), predicted);
    }

    /** Subset accuracy, micro/macro/weighted scores over the classes; each prediction is the list of classes above 0. */
    private static Map<String, Object> multiLabelReport(List<String> classes, ClassificationDataset examples,
                                                        List<float[]> logits) {
        boolean[][] truth = new boolean[logits.size()][classes.size()];
        boolean[][] guess = new boolean[logits.size()][classes.size()];
        List<List<String>> predicted = new ArrayList<>();
        for (int i = 0; i < logits.size(); i++) {
            List<String> names = new ArrayList<>();
            for (int j = 0; j < classes.size(); j++) {
                truth[i][j] = examples.get(i).labels()[j] == 1;
                guess[i][j] = logits.get(i)[j] > 0;
                if (guess[i][j]) {
                    names.add(classes.get(j));
                }
            }
            predicted.add(names);
        }
        return report(ClassificationMetrics.computeMultiLabel(classes, truth, guess),
                List.of(Average.MICRO, Average.MACRO, Average.WEIGHTED), predicted);
    }

    private static SequenceClassifier loadAdapter(SequenceClassifierModule base, Path adapter) {
        ModelInputs.readAdapter(adapter).close(); // a folder that is not an adapter is bad input, named as such
        try {
            return Peft.load(base, adapter);
        } catch (PeftException | IllegalArgumentException | UncheckedIOException e) {
            throw new BadInputException("cannot load the adapter " + adapter.toAbsolutePath() + " onto the classifier: "
                    + e.getMessage() + " (eval --labels must list the classes it was trained with)", e);
        }
    }

    /** The metrics (numbers a gate compares), the per-class table and, when given, the predictions. */
    private static Map<String, Object> report(ClassificationReport r, List<Average> averages, List<?> predictions) {
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("accuracy", r.accuracy());
        for (Average a : averages) {
            String suffix = "_" + a.name().toLowerCase(Locale.ROOT);
            metrics.put("f1" + suffix, r.f1(a));
            metrics.put("precision" + suffix, r.precision(a));
            metrics.put("recall" + suffix, r.recall(a));
        }
        Map<String, Object> perClass = new LinkedHashMap<>();
        for (String label : r.labels()) {
            perClass.put(label, Map.of("precision", r.precision(label), "recall", r.recall(label), "f1", r.f1(label),
                    "support", r.support(label)));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("metrics", metrics);
        result.put("per_class", perClass);
        if (predictions != null) {
            result.put("predictions", predictions);
        }
        return result;
    }

    /** The per-class table, scikit-learn's classification_report layout. */
    static String table(Map<String, Object> result) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-24s %9s %9s %9s %9s%n", "", "precision",
                "recall", "f1-score", "support"));
        ((Map<?, ?>) result.get("per_class")).forEach((label, v) -> {
            Map<?, ?> m = (Map<?, ?>) v;
            out.append(String.format(Locale.ROOT, "%-24s %9.4f %9.4f %9.4f %9d%n", label, m.get("precision"),
                    m.get("recall"), m.get("f1"), m.get("support")));
        });
        return out.toString();
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
