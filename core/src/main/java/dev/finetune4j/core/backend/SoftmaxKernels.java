package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/** Softmax and log-softmax over the last dimension, with the row maximum subtracted. All tensors (..., V). */
public interface SoftmaxKernels {

    /**
     * {@code y = softmax(x)}; a row that is all -infinity gives zeros. {@code x} contiguous.
     *
     * @param x the scores, (..., V)
     * @param y receives the probabilities, same shape
     */
    void softmax(Tensor x, Tensor y);

    /**
     * (forward: y = softmax(x)) {@code dx = y * (dy - sum(dy * y))}.
     *
     * @param y the forward's output
     * @param dy the gradient of the output
     * @param dx receives the gradient of the input
     */
    void softmaxBackward(Tensor y, Tensor dy, Tensor dx);

    /**
     * {@code y = (x - max) - log(sum(exp(x - max)))}. {@code x} contiguous.
     *
     * @param x the scores, (..., V)
     * @param y receives the log-probabilities, same shape
     */
    void logSoftmax(Tensor x, Tensor y);

    /**
     * (forward: y = logSoftmax(x)) {@code dx = dy - exp(y) * sum(dy)}.
     *
     * @param y the forward's output
     * @param dy the gradient of the output
     * @param dx receives the gradient of the input
     */
    void logSoftmaxBackward(Tensor y, Tensor dy, Tensor dx);
}
