package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Log-probabilities of labels under softmax(logits), without materialising the probabilities: the forward keeps
 * each row's maximum and the reciprocal of its sum of exponentials, and the backward recomputes
 * {@code softmax = exp(logit - rowMax) * invRowSum} (so a device may work through a large vocabulary in chunks).
 * Rows whose label is the ignore index contribute 0 and get no gradient.
 * logits, dLogits: (N, V) contiguous; labels: (N) contiguous I32 with values in [0, V) or the ignore index;
 * logProbs, dLogProbs, rowMax, invRowSum: (N).
 *
 * <p>NOTE: two statistics per row rather than one float32 log-sum-exp: {@code max + log(sum)} rounded to float
 * carries the ulp of max (6e-5 at logits near 1000), and {@code exp(logit - lse)} would then shift every
 * recomputed probability by that relative error; {@code exp(logit - max) * (1 / sum)} gives back the forward's
 * probabilities exactly.
 */
public interface CrossEntropyKernels {

    /**
     * {@code logProbs[n] = (logits[n][label] - max) - log(sum(exp(logits[n] - max)))}, computed as PyTorch's
     * log_softmax; {@code rowMax[n] = max}, {@code invRowSum[n] = 1 / sum} (0 and 0 on ignored rows).
     *
     * @param logits the scores, (N, V) contiguous
     * @param labels the class of each row, (N) I32
     * @param ignoreIndex the label of rows to skip
     * @param logProbs receives the log-probabilities, (N)
     * @param rowMax receives each row's maximum, (N)
     * @param invRowSum receives each row's 1 / sum of exponentials, (N)
     */
    void tokenLogProbs(Tensor logits, Tensor labels, int ignoreIndex, Tensor logProbs, Tensor rowMax, Tensor invRowSum);

    /**
     * (forward: {@link #tokenLogProbs}) {@code dLogits[n] = dLogProbs[n] * (onehot(label) - softmax(logits[n]))}
     * with {@code softmax(logits[n]) = exp(logits[n] - rowMax[n]) * invRowSum[n]}; ignored rows are 0.
     * {@code dLogits} may be {@code logits} itself when that is float32 (each element is read before it is
     * written): the fused head's backward recomputes a chunk of logits and turns it into its gradient in place.
     *
     * @param logits the forward's scores
     * @param labels the forward's labels
     * @param ignoreIndex the label of rows to skip
     * @param rowMax the forward's row maxima
     * @param invRowSum the forward's 1 / sums
     * @param dLogProbs the gradient of the log-probabilities, (N)
     * @param dLogits receives the gradient of the logits, (N, V), contiguous F32 or BF16 (computed in float32,
     *                rounded once); may be {@code logits} when that is F32
     */
    void tokenLogProbsBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor rowMax, Tensor invRowSum,
                               Tensor dLogProbs, Tensor dLogits);
}
