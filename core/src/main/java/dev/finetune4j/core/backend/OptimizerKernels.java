package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/**
 * Parameter updates in place. param, grad and the state tensors: same shape, contiguous F32.
 *
 * <p>An update can be gated: {@link #updateGate} decides on the device, from the gradient norms and the losses,
 * whether a training step updates and by how much it clips, and the updates read that decision from device memory.
 * A step then needs no read-back before its update (issue 17), and clipping costs no pass over the gradients.
 */
public interface OptimizerKernels {
    /**
     * The elements of a gate: the global gradient norm, the clip coefficient, and 0 (open) or 1 (closed: skip). Open
     * is 0 so that a device whose reads return zeros (the fake one, which computes nothing) trains on.
     */
    int GATE_SIZE = 3;

    /**
     * The gate of one training step, written into {@code gate}:
     * <ol start="0">
     * <li>the global gradient norm {@code sqrt(sum of norms[k]^2)}, summed in double and rounded once to float32,
     * as {@code torch.nn.utils.clip_grad_norm_} over per-tensor float32 norms;</li>
     * <li>the clip coefficient {@code min(1, (1 / (norm + 1e-6)) * maxNorm)} in float32 as torch computes it; 1 when
     * {@code maxNorm} is 0 (no clipping), 0 when the gate is closed;</li>
     * <li>0 (open) when the norm and every loss are finite, else 1 (closed: the step is skipped).</li>
     * </ol>
     *
     * @param norms the per-tensor gradient norms, contiguous F32
     * @param losses the step's losses (one per micro-batch), contiguous F32; every one must be finite
     * @param maxNorm the largest allowed global norm, or 0 for none
     * @param gate receives the gate, contiguous F32 of {@link #GATE_SIZE} elements
     */
    void updateGate(Tensor norms, Tensor losses, float maxNorm, Tensor gate);

    /**
     * Checks that {@code gate} is a gate the kernels read or write, for their implementations.
     *
     * @param gate the gate
     * @throws IllegalArgumentException when it is not contiguous F32 of {@link #GATE_SIZE} elements
     */
    static void requireGate(Tensor gate) {
        if (gate.dtype() != DType.F32 || !gate.isContiguous() || gate.numel() != GATE_SIZE) {
            throw new IllegalArgumentException("a gate is contiguous F32 of " + GATE_SIZE + " elements, got " + gate);
        }
    }

    /**
     * One AdamW step as {@code torch.optim.AdamW} (single-tensor path), in float32, of the gradient scaled by the
     * gate's clip coefficient ({@code g * coefficient}, as clipping in place would leave it), and only when the gate
     * is open:
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
     * @param gate a gate of {@link #updateGate} on the parameter's device, or null for an unconditional, unclipped
     *             step
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, Tensor gate);

    /**
     * {@link #adamw(Tensor, Tensor, Tensor, Tensor, AdamWStep, Tensor) adamw} without a gate.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param m the first moment, updated in place
     * @param v the second moment, updated in place
     * @param step the step's scalars
     */
    default void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        adamw(param, grad, m, v, step, null);
    }

    /**
     * {@link #adamw(Tensor, Tensor, Tensor, Tensor, AdamWStep, Tensor) adamw} of many parameters with one step's
     * scalars (the same step count) and one gate, as torch's multi-tensor ("foreach") path: a backend may update
     * them all in one kernel instead of one per parameter. The lists hold one entry per parameter, in the same order.
     *
     * @param params the parameters, updated in place
     * @param grads their gradients
     * @param m their first moments, updated in place
     * @param v their second moments, updated in place
     * @param step the step's scalars, shared by every parameter
     * @param gate a gate of {@link #updateGate} on the parameters' device, or null
     */
    default void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step,
                       Tensor gate) {
        for (int k = 0; k < params.size(); k++) {
            adamw(params.get(k), grads.get(k), m.get(k), v.get(k), step, gate);
        }
    }

    /**
     * One SGD step as {@code torch.optim.SGD}, of the gradient scaled by the gate's clip coefficient and only when
     * the gate is open: {@code g' = g + weightDecay * p}; with momentum,
     * {@code buf = momentum * buf + (1 - dampening) * g'} ({@code buf = g'} on the first step) and
     * {@code g' = nesterov ? g' + momentum * buf : buf}; then {@code p = p - lr * g'}. {@code momentumBuffer} is
     * null without momentum.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param momentumBuffer the momentum buffer, updated in place, or null
     * @param step the step's scalars
     * @param gate a gate of {@link #updateGate} on the parameter's device, or null for an unconditional, unclipped
     *             step
     */
    void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step, Tensor gate);

    /**
     * {@link #sgd(Tensor, Tensor, Tensor, SgdStep, Tensor) sgd} without a gate.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param momentumBuffer the momentum buffer, updated in place, or null
     * @param step the step's scalars
     */
    default void sgd(Tensor param, Tensor grad, Tensor momentumBuffer, SgdStep step) {
        sgd(param, grad, momentumBuffer, step, null);
    }
}
