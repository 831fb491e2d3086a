package dev.finetune4j.core.optim;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.OptimizerKernels;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Collection;
import java.util.List;

/**
 * A training step's global-norm clipping and its skip of non-finite steps, decided on the device
 * ({@link OptimizerKernels#updateGate}). The optimizer's update reads the decision from device memory
 * ({@link Optimizer#step(UpdateGate)}), so a step reads nothing back before its update, and clipping makes no pass
 * over the gradients: the update scales each gradient as it reads it, as {@code clip_grad_norm_} followed by the
 * update would. The host learns the outcome when it reads {@link #values()} (together with the loss, in one
 * transfer) and tells the optimizer ({@link Optimizer#settle(boolean)}).
 *
 * <pre>{@code
 * UpdateGate gate = UpdateGate.of(params.values(), losses, 1.0);   // losses: this step's, still on the device
 * optimizer.step(gate);
 * UpdateGate.Reading r = UpdateGate.read(gate.values().toFloatArray(), 0);
 * optimizer.settle(r.open());                                    // r.gradNorm(): log it
 * }</pre>
 *
 * @param values the gate on the parameters' device: the global norm, the clip coefficient, and 0 (open) or 1
 *               (closed)
 */
public record UpdateGate(Tensor values) {

    /**
     * The outcome of a gate, read back.
     *
     * @param gradNorm the global gradient norm before clipping (NaN or infinite when a gradient element is)
     * @param open whether the update was applied: every loss and the norm were finite
     */
    public record Reading(double gradNorm, boolean open) {
    }

    /**
     * Decides a step on the parameters' device, in the current scope.
     *
     * @param params the trainable parameters, all on one device; those without a gradient are skipped
     * @param losses the step's losses on that device (contiguous F32, one per micro-batch): the step is skipped
     *               unless every one is finite
     * @param maxNorm the largest allowed global gradient norm, or 0 for no clipping
     * @return the gate, for {@link Optimizer#step(UpdateGate)}
     * @throws IllegalArgumentException when {@code maxNorm} is negative, not finite or rounds to 0 in float32, or the
     *                                  parameters span devices
     * @throws IllegalStateException when a gradient is not a contiguous F32 tensor
     */
    public static UpdateGate of(Collection<Tensor> params, Tensor losses, double maxNorm) {
        if (maxNorm != 0) { // 0: no clipping
            Checks.positive("maxNorm (or 0 for no clipping)", maxNorm);
        }
        Device device = losses.device();
        for (Tensor p : params) {
            if (!p.device().equals(device)) {
                throw new IllegalArgumentException("an update gate decides on one device: parameter " + p + " is on "
                        + p.device() + ", the losses on " + device + "; keep the trainable parameters on one device");
            }
        }
        List<Tensor> grads = GradientClipping.gradients(params);
        Tensor gate = Tensor.zeros(device, Shape.of(OptimizerKernels.GATE_SIZE));
        device.backend().optimizer().updateGate(TensorNorms.l2Vector(device, grads), losses, (float) maxNorm, gate);
        return new UpdateGate(gate);
    }

    /**
     * The outcome, from the gate's values read back.
     *
     * @param read values read back from the device, the gate's among them
     * @param offset where the gate's {@link OptimizerKernels#GATE_SIZE} values start in {@code read}
     * @return the norm and whether the step was applied
     */
    public static Reading read(float[] read, int offset) {
        return new Reading(read[offset], read[offset + 2] == 0f);
    }
}
