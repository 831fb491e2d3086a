package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.autograd.Reductions;
import dev.finetune4j.core.models.ClassifierConfig.ProblemType;
import dev.finetune4j.core.models.ModelSpec;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import dev.finetune4j.eval.Average;
import dev.finetune4j.eval.ClassificationMetrics;
import dev.finetune4j.eval.ClassificationReport;
import dev.finetune4j.peft.PeftClassifier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * transformers' sequence-classification loss by {@code problem_type}: single-label classification is the
 * cross-entropy of each row's logits, a regression ({@code num_labels} 1) the squared error of its one score. Summed
 * here and divided by the rows of the whole optimizer step, so gradient accumulation equals one large batch (the
 * mean transformers takes over a batch). Micro-batches are right-padded to their longest row ({@link PaddedBatch}).
 */
final class ClassificationObjective implements Objective {
    private final PeftClassifier model;
    private final ClassificationDataset data;
    private final ProblemType problem;
    private final long padId;

    ClassificationObjective(PeftClassifier model, ClassificationDataset data, long padId) {
        this.problem = model.classifierConfig().problemType();
        if (problem == ProblemType.MULTI_LABEL_CLASSIFICATION) {
            throw new IllegalArgumentException("multi_label_classification is not trained here yet: use one label per "
                    + "example (problem_type single_label_classification)");
        }
        ModelSpec spec = model.spec();
        int labels = model.numLabels();
        for (int i = 0; i < data.size(); i++) {
            ClassificationExample e = data.get(i);
            if (e.length() > spec.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("example " + i + " has " + e.length() + " tokens, but the model reads at "
                        + "most " + spec.maxPositionEmbeddings() + " (max_position_embeddings); cut it when tokenizing");
            }
            for (int j = 0; j < e.length(); j++) {
                long id = e.inputIds()[j];
                if (id < 0 || id >= spec.vocabSize()) {
                    throw new IllegalArgumentException("example " + i + " has token id " + id + " at position " + j
                            + ", outside the vocabulary [0, " + spec.vocabSize() + "); tokenize with the model's tokenizer");
                }
            }
            float label = e.label();
            if (problem == ProblemType.SINGLE_LABEL_CLASSIFICATION && (label != Math.rint(label) || label < 0 || label >= labels)) {
                throw new IllegalArgumentException("example " + i + " has label " + label + "; the classifier has "
                        + labels + " classes, so a label is an integer in [0, " + labels + ")");
            }
        }
        this.model = model;
        this.data = data;
        this.padId = padId;
    }

    @Override
    public int size() {
        return data.size();
    }

    @Override
    public long fingerprint() {
        Fingerprint f = new Fingerprint();
        for (ClassificationExample e : data.examples()) {
            f.add(e.inputIds()).add(new long[]{Float.floatToIntBits(e.label())});
        }
        return f.value();
    }

    /** Rows: each example is one unit of the mean. */
    @Override
    public long weight(int[] indices) {
        return indices.length;
    }

    @Override
    public Loss lossSum(int[] indices) {
        int b = indices.length;
        List<long[]> rows = new ArrayList<>(b);
        for (int i : indices) {
            rows.add(data.get(i).inputIds());
        }
        PaddedBatch batch = PaddedBatch.of(rows, padId);
        Tensor logits = model.forward(batch.inputIds(), batch.attentionMask()); // (B, labels)
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

    /** Accuracy and macro F1 of the predicted classes, as scikit-learn computes them (eval's ClassificationMetrics). */
    @Override
    public Map<String, Double> predictionMetrics(int[] predicted) {
        int[] truth = new int[data.size()];
        for (int i = 0; i < truth.length; i++) {
            truth[i] = (int) data.get(i).label();
        }
        ClassificationReport report = ClassificationMetrics.compute(truth, predicted);
        return Map.of("accuracy", report.accuracy(), "f1_macro", report.f1(Average.MACRO));
    }
}
