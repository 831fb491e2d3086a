package dev.finetune4j.core.backend;

import dev.finetune4j.core.autograd.Activations.Kind;
import dev.finetune4j.core.tensor.Tensor;

/** Pointwise activations and SwiGLU. All tensors of one call have the same shape; outputs contiguous. */
public interface ActivationKernels {

    /**
     * {@code y = f(x)}.
     *
     * @param kind the activation
     * @param x the input, any layout
     * @param y the output, contiguous, same shape
     */
    void activation(Kind kind, Tensor x, Tensor y);

    /**
     * (forward: y = f(x)) {@code dx = dy * f'(x)}.
     *
     * @param kind the activation
     * @param x the forward input
     * @param dy the gradient of the output
     * @param dx receives the gradient of the input, contiguous, same shape
     */
    void activationBackward(Kind kind, Tensor x, Tensor dy, Tensor dx);

    /**
     * {@code y = silu(gate) * up} (Shazeer 2020).
     *
     * @param gate the gate projection's output
     * @param up the up projection's output, same shape
     * @param y receives the product, contiguous, same shape, F32 or BF16 (computed in float32, rounded once)
     */
    void swiglu(Tensor gate, Tensor up, Tensor y);

    /**
     * (forward: {@link #swiglu}) {@code dGate = dy * up * silu'(gate)}, {@code dUp = dy * silu(gate)}, with
     * {@code sigmoid(gate)} computed again as the forward computed it: keeping it would cost a (tokens,
     * intermediate) float32 tensor per layer, the largest activation of a decoder step.
     *
     * @param gate the forward's gate
     * @param up the forward's up
     * @param dy the gradient of the output
     * @param dGate receives the gradient of {@code gate}, contiguous F32 or BF16 (computed in float32, rounded once)
     * @param dUp receives the gradient of {@code up}, contiguous F32 or BF16
     */
    void swigluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp);

    /**
     * gpt-oss's expert activation over interleaved (gate, up) pairs: with {@code g = min(gateUp[2i], limit)} and
     * {@code u = clamp(gateUp[2i + 1], -limit, limit)}, {@code y[i] = (u + 1) * g * sigmoid(alpha * g)}.
     *
     * @param gateUp the pairs, (..., 2I) contiguous, any floating dtype
     * @param alpha the sigmoid's gain
     * @param limit the clamp's bound
     * @param y receives the activations, (..., I) contiguous F32 or BF16 (computed in float32, rounded once)
     */
    void clampedSwiglu(Tensor gateUp, float alpha, float limit, Tensor y);

    /**
     * (forward: {@link #clampedSwiglu}) the gradient of the pairs, interleaved as they are; a clamped value's
     * gradient is 0 (an input equal to its bound passes it, as PyTorch's clamp does).
     *
     * @param gateUp the forward's pairs
     * @param alpha the forward's gain
     * @param limit the forward's bound
     * @param dy the gradient of the output, (..., I)
     * @param dGateUp receives the gradient of {@code gateUp}, (..., 2I) contiguous F32 or BF16
     */
    void clampedSwigluBackward(Tensor gateUp, float alpha, float limit, Tensor dy, Tensor dGateUp);

    /**
     * xIELU (Huang et al. 2024, arXiv:2411.13010; Apertus's MLP activation) with its learned scalars given raw, as
     * transformers stores them: {@code ap = softplus(alphaP)}, {@code an = beta + softplus(alphaN)} (softplus with
     * PyTorch's threshold 20), then {@code y = ap x^2 + beta x} where {@code x > 0}, else
     * {@code y = (expm1(min(x, eps)) - x) an + beta x}. Computed in double, rounded once.
     *
     * @param x the input, any layout
     * @param alphaP the raw positive-branch scalar, one element of a floating dtype
     * @param alphaN the raw negative-branch scalar, one element of a floating dtype
     * @param beta the linear term's fixed factor
     * @param eps the fixed bound below which the negative branch's exponential is read
     * @param y the output, contiguous F32 or BF16, same shape as {@code x}
     */
    void xielu(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor y);

    /**
     * (forward: {@link #xielu}) {@code dx = dy * y'(x)}, and the raw scalars' gradients, each a sum over every element
     * reduced on the device: {@code dAlphaP = sigmoid(alphaP) * sum(dy x^2 | x > 0)},
     * {@code dAlphaN = sigmoid(alphaN) * sum(dy (expm1(min(x, eps)) - x) | x <= 0)} (softplus' derivative, 1 above
     * the threshold). {@code min}'s gradient goes to x below eps, half of it at eps, as PyTorch's.
     *
     * @param x the forward input
     * @param alphaP the forward's raw positive-branch scalar
     * @param alphaN the forward's raw negative-branch scalar
     * @param beta the forward's beta
     * @param eps the forward's eps
     * @param dy the gradient of the output
     * @param dx receives the gradient of {@code x}, contiguous F32 or BF16
     * @param dAlphaP receives the gradient of {@code alphaP}, one contiguous F32 element, or null where none is needed
     * @param dAlphaN receives the gradient of {@code alphaN}, one contiguous F32 element, or null where none is needed
     */
    void xieluBackward(Tensor x, Tensor alphaP, Tensor alphaN, float beta, float eps, Tensor dy, Tensor dx,
                       Tensor dAlphaP, Tensor dAlphaN);
}
