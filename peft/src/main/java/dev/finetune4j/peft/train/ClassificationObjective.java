package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.PeftClassifier;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * transformers' sequence-classification loss by {@code problem_type}: single-label classification is the
 * cross-entropy of each row's logits, a regression ({@code num_labels} 1) the squared error of its one score, and
 * multi-label classification the binary cross-entropy of every logit against its 0/1 label (torch's
 * {@code BCEWithLogitsLoss}). Summed here and divided by the rows (multi-label: rows times labels) of the whole
 * optimizer step, so gradient accumulation equals one large batch (the mean transformers takes over a batch).
 * Micro-batches are right-padded to their longest row, with the pairs' token types for a model that has them
 * ({@link ClassificationBatch}).
 */
final class ClassificationObjective implements Objective {
    private final PeftClassifier model;
    private final ClassificationDataset data;
    private final ProblemType problem;
    private final long padId;

    ClassificationObjective(PeftClassifier model, ClassificationDataset data, long padId) {
        this.problem = model.classifierConfig().problemType();
        int labels = model.numLabels();
        for (int i = 0; i < data.size(); i++) {
            ClassificationExample e = data.get(i);
            Objective.requireReadable(e.inputIds(), model.spec(), "example " + i);
            requireLabels(e, i, labels);
        }
        this.model = model;
        this.data = data;
        this.padId = padId;
    }

    /** Fails, naming the example, when its labels do not fit the problem type and the number of classes. */
    private void requireLabels(ClassificationExample e, int i, int numLabels) {
        float[] labels = e.labels();
        if (problem == ProblemType.MULTI_LABEL_CLASSIFICATION) {
            boolean binary = labels.length == numLabels;
            for (int j = 0; binary && j < labels.length; j++) {
                binary = labels[j] == 0f || labels[j] == 1f;
            }
            if (!binary) {
                throw new IllegalArgumentException("example " + i + " has labels " + Arrays.toString(labels) + "; a "
                        + "multi-label classifier over " + numLabels + " classes needs one 0 or 1 per class");
            }
        } else if (labels.length != 1) {
            throw new IllegalArgumentException("example " + i + " has a vector of " + labels.length + " labels, but the "
                    + "classifier's problem_type is " + problem.name().toLowerCase(Locale.ROOT) + ": give one label per "
                    + "example, or load the classifier with ClassifierConfig.withProblemType(MULTI_LABEL_CLASSIFICATION)");
        } else if (problem == ProblemType.SINGLE_LABEL_CLASSIFICATION
                && (labels[0] != Math.rint(labels[0]) || labels[0] < 0 || labels[0] >= numLabels)) {
            throw new IllegalArgumentException("example " + i + " has label " + labels[0] + "; the classifier has "
                    + numLabels + " classes, so a label is an integer in [0, " + numLabels + ")");
        }
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public long fingerprint() {
        Fingerprint f = new Fingerprint();
        for (ClassificationExample e : data.examples()) {
            long[] bits = new long[e.labels().length];
            for (int j = 0; j < bits.length; j++) {
                bits[j] = Float.floatToIntBits(e.labels()[j]);
            }
            f.add(e.inputIds()).add(bits);
            if (e.tokenTypeIds() != null) {
                f.add(e.tokenTypeIds());
            }
        }
        return f.value();
    }

    /** Rows: each example is one unit of the mean; multi-label, each of its labels is (torch's mean over all). */
    @Override
    public long weight(int[] indices) {
        return problem == ProblemType.MULTI_LABEL_CLASSIFICATION ? (long) indices.length * model.numLabels() : indices.length;
    }

    @Override
    public Loss lossSum(int[] indices) {
        int b = indices.length;
        List<ClassificationExample> rows = new ArrayList<>(b);
        for (int i : indices) {
            rows.add(data.get(i));
        }
        ClassificationBatch typed = ClassificationBatch.of(rows, padId, model);
        PaddedBatch batch = typed.padded();
        Tensor logits = typed.forward(model); // (B, labels)
        if (problem == ProblemType.MULTI_LABEL_CLASSIFICATION) {
            return multiLabelLoss(logits, indices, batch.tokens());
        }
        if (problem == ProblemType.REGRESSION) {
            float[] targets = new float[b];
            for (int r = 0; r < b; r++) {
                targets[r] = data.get(indices[r]).label();
            }
            Tensor target = Tensor.of(logits.device(), TensorScope.current(), targets, Shape.of(b));
            Tensor error = Elementwise.sub(logits.reshape(b), target);
            return new Loss(Reductions.sum(Elementwise.mul(error, error)), batch.tokens(), Map.of(), null);
        }
        int[] labels = new int[b];
        for (int r = 0; r < b; r++) {
            labels[r] = (int) data.get(indices[r]).label();
        }
        Tensor sum = Elementwise.scale(Reductions.sum(CrossEntropy.tokenLogProbs(logits, labels)), -1f);
        return new Loss(sum, batch.tokens(), Map.of(), Reductions.argmax(logits));
    }

    /** The multi-label loss sum of these rows; predictions: the labels whose score is above 0 (σ(x) > 1/2), (B, L). */
    private Loss multiLabelLoss(Tensor logits, int[] indices, long tokens) {
        int b = indices.length;
        int l = model.numLabels();
        float[] targets = new float[b * l];
        for (int r = 0; r < b; r++) {
            System.arraycopy(data.get(indices[r]).labels(), 0, targets, r * l, l);
        }
        Tensor y = Tensor.of(logits.device(), TensorScope.current(), targets, Shape.of(b, l));
        return new Loss(binaryCrossEntropySum(logits, y), tokens, Map.of(), Elementwise.isPositive(logits.detach()));
    }

    /**
     * Summed binary cross-entropy with logits, torch's {@code BCEWithLogitsLoss(reduction="sum")}: with y the 0/1
     * label, {@code (1 - y) x - log σ(x)} = -[y log σ(x) + (1 - y) log σ(-x)], stable for large |x|, in float32
     * whatever the forward ran in. logits, y: (B, L) -> [1]; the gradient with respect to x is σ(x) - y.
     */
    static Tensor binaryCrossEntropySum(Tensor logits, Tensor y) {
        try (var f32 = Precision.F32.use()) {
            Tensor notY = Elementwise.addScalar(Elementwise.scale(y, -1f), 1f);
            return Reductions.sum(Elementwise.sub(Elementwise.mul(notY, logits), PreferenceLosses.logSigmoid(logits)));
        }
    }

    /**
     * Accuracy and macro F1 of the predicted classes, as scikit-learn computes them (eval's ClassificationMetrics);
     * multi-label, the subset accuracy and the micro and macro F1 over the labels.
     */
    @Override
    public Map<String, Double> predictionMetrics(int[] predicted) {
        if (problem == ProblemType.MULTI_LABEL_CLASSIFICATION) {
            return multiLabelMetrics(predicted);
        }
        int[] truth = new int[data.size()];
        for (int i = 0; i < truth.length; i++) {
            truth[i] = (int) data.get(i).label();
        }
        ClassificationReport report = ClassificationMetrics.compute(truth, predicted);
        return Map.of("accuracy", report.accuracy(), "f1_macro", report.f1(Average.MACRO));
    }

    /** predicted: (N, L) flattened 0/1, in example order. */
    private Map<String, Double> multiLabelMetrics(int[] predicted) {
        int l = model.numLabels();
        boolean[][] truth = new boolean[data.size()][l];
        boolean[][] guess = new boolean[data.size()][l];
        for (int i = 0; i < truth.length; i++) {
            for (int j = 0; j < l; j++) {
                truth[i][j] = data.get(i).labels()[j] == 1f;
                guess[i][j] = predicted[i * l + j] == 1;
            }
        }
        ClassificationReport report = ClassificationMetrics.computeMultiLabel(model.classifierConfig().id2label(), truth, guess);
        return Map.of("accuracy", report.accuracy(), "f1_micro", report.f1(Average.MICRO), "f1_macro", report.f1(Average.MACRO));
    }
}
