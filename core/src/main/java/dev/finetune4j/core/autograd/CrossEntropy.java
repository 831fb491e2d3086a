package dev.finetune4j.core.autograd;

import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

/** Cross-entropy and per-token log-probabilities from logits, with an ignore index. */
public final class CrossEntropy {
    /** The label value that contributes nothing (Hugging Face's and PyTorch's -100). */
    public static final int IGNORE_INDEX = -100;

    private CrossEntropy() {
    }

    /**
     * Mean negative log-likelihood over the rows whose label is not {@link #IGNORE_INDEX}, as
     * {@code F.cross_entropy(reduction="mean")}: NaN when every label is ignored.
     * logits: (N, V), labels: [N] -> [1]. Backward: (softmax - onehot) / count.
     *
     * @param logits the scores, (N, V)
     * @param labels the class of each row in [0, V), or {@link #IGNORE_INDEX}
     * @return the mean loss, a one-element tensor
     */
    public static Tensor loss(Tensor logits, int[] labels) {
        return lossFromLogProbs(tokenLogProbs(logits, labels), labels);
    }

    /**
     * The mean loss of {@link #loss} from per-token log-probabilities ({@link #tokenLogProbs} or
     * {@link LinearCrossEntropy#tokenLogProbs}): {@code -sum(tokenLogProbs) / count} over the labels that are not
     * {@link #IGNORE_INDEX}, NaN when every label is ignored.
     *
     * @param tokenLogProbs log p(label) per row, 0 on ignored rows, (N)
     * @param labels the labels they were computed for
     * @return the mean loss, a one-element tensor
     */
    public static Tensor lossFromLogProbs(Tensor tokenLogProbs, int[] labels) {
        int count = 0;
        for (int label : labels) {
            if (label != IGNORE_INDEX) {
                count++;
            }
        }
        // NOTE: mean of -log p over the counted rows; 0/0 gives NaN exactly as PyTorch does.
        return Elementwise.scale(Reductions.sum(tokenLogProbs), -1f / count);
    }

    /**
     * log p(label) per row (0 where the label is ignored). logits: (N, V), labels: [N] -> (N).
     * Backward: dlogits = d * (onehot - softmax). Only each row's maximum and 1 / sum of exponentials are kept
     * for the backward, which recomputes the softmax from the logits.
     *
     * @param logits the scores, (N, V)
     * @param labels the class of each row in [0, V), or {@link #IGNORE_INDEX}
     * @return the log-probabilities, (N)
     */
    public static Tensor tokenLogProbs(Tensor logits, int[] labels) {
        Tensor x = Ops.matrix(logits);
        int n = x.dim(0);
        checkLabels(labels, n, x.dim(1));
        Tensor labelTensor = Tensor.ofInts(logits.device(), labels, Shape.of(n));
        Tensor logProbs = Tensor.zeros(logits.device(), Shape.of(n));
        Tensor rowMax = Tensor.zeros(logits.device(), Shape.of(n));
        Tensor invRowSum = Tensor.zeros(logits.device(), Shape.of(n));
        var kernels = logits.backend().crossEntropy();
        kernels.tokenLogProbs(x, labelTensor, IGNORE_INDEX, logProbs, rowMax, invRowSum);
        return Autograd.record("tokenLogProbs", logProbs, dOut -> {
            Tensor dLogits = Tensor.zeros(logits.device(), logits.shape());
            kernels.tokenLogProbsBackward(x, labelTensor, IGNORE_INDEX, rowMax, invRowSum, dOut,
                    Ops.matrix(dLogits));
            return new Tensor[]{dLogits};
        }, logits);
    }

    /** Throws unless there is one label per row, each in [0, v) or the ignore index. */
    static void checkLabels(int[] labels, int n, int v) {
        if (labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for " + n + " rows of logits");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] != IGNORE_INDEX && (labels[i] < 0 || labels[i] >= v)) {
                throw new IllegalArgumentException("label " + labels[i] + " at row " + i + " is outside [0, " + v + ") and is not the ignore index " + IGNORE_INDEX);
            }
        }
    }
}
