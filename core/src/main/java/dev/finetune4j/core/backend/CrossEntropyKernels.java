package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/**
 * Log-probabilities of labels under softmax(logits), without materialising the probabilities: the forward keeps
 * each row's log-sum-exp and the backward recomputes {@code softmax = exp(logit - lse)} (so a device may work
 * through a large vocabulary in chunks). Rows whose label is the ignore index contribute 0 and get no gradient.
 * logits, dLogits: (N, V) contiguous; labels: (N) contiguous I32; logProbs, dLogProbs, logSumExp: (N).
 */
public interface CrossEntropyKernels {

    /** {@code logProbs[n] = (logits[n][label] - max) - log(sum(exp(logits[n] - max)))}, computed as PyTorch's log_softmax. */
    void tokenLogProbs(Tensor logits, Tensor labels, int ignoreIndex, Tensor logProbs, Tensor logSumExp);

    /** (forward: {@link #tokenLogProbs}) {@code dLogits[n] = dLogProbs[n] * (onehot(label) - softmax(logits[n]))}. */
    void tokenLogProbsBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor logSumExp, Tensor dLogProbs,
                               Tensor dLogits);
}
