package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** Parameter updates in place. param, grad and the state tensors: same shape, contiguous F32. */
public interface OptimizerKernels {

    /**
     * One AdamW step as {@code torch.optim.AdamW} (single-tensor path), in float32:
     * <pre>
     * p = p * decay;  m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
     * p = p + negStepSize * m / (sqrt(v) / biasCorrection2Sqrt + eps)
     * </pre>
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param m the first moment, updated in place
     * @param v the second moment, updated in place
     * @param step the step's scalars (decay, step size, bias corrections), computed in double by the caller
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);

    /**
     * {@link #adamw} of many parameters with one step's scalars (the same step count), as torch's multi-tensor
     * ("foreach") path: a backend may update them all in one kernel instead of one per parameter. The lists hold one
     * entry per parameter, in the same order.
     *
     * @param params the parameters, updated in place
     * @param grads their gradients
     * @param m their first moments, updated in place
     * @param v their second moments, updated in place
     * @param step the step's scalars, shared by every parameter
     */
    default void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step) {
        for (int k = 0; k < params.size(); k++) {
            adamw(params.get(k), grads.get(k), m.get(k), v.get(k), step);
        }
    }

    /**
     * One SGD step as {@code torch.optim.SGD}: {@code g' = g + weightDecay * p}; with momentum,
     * {@code buf = momentum * buf + (1 - dampening) * g'} ({@code buf = g'} on the first step) and
     * {@code g' = nesterov ? g' + momentum * buf : buf}; then {@code p = p - lr * g'}. {@code momentumBuffer} is
     * null without momentum.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param momentumBuffer the momentum buffer, updated in place, or null
     * @param step the step's scalars
     */
    void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step);
}
