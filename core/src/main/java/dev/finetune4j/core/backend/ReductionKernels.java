package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/** Sums, accumulated in double on the CPU (float32 on devices that say so in their docs). */
public interface ReductionKernels {

    /**
     * Sums {@code x} onto the shape of {@code out} (the backward of broadcasting and of a sum over dimensions):
     * {@code out} has {@code x}'s rank, each of its dimensions equal to {@code x}'s or 1, and element
     * {@code out[i]} is the sum of the elements of {@code x} that broadcasting {@code out} would map onto it.
     * A one-element {@code out} (any rank) holds the sum of everything. {@code x} any layout.
     *
     * @param x the tensor to sum
     * @param out receives the sums
     */
    void sumTo(Tensor x, Tensor out);

    /**
     * The L2 norm of all of {@code x} (summed in double, rounded once to float32) into the one-element
     * {@code out}: the per-tensor term of global gradient-norm clipping.
     *
     * @param x the tensor
     * @param out receives the norm
     */
    void norm(Tensor x, Tensor out);

    /**
     * {@link #norm} of each tensor into {@code out[k]}: an adapter's hundreds of small tensors (gradient clipping,
     * the finite-weight check), which a backend may measure in one kernel instead of one or two per tensor.
     *
     * @param tensors contiguous F32 tensors
     * @param out receives the norms, contiguous F32 of {@code tensors.size()} elements
     */
    default void norms(List<Tensor> tensors, Tensor out) {
        for (int k = 0; k < tensors.size(); k++) {
            norm(tensors.get(k), out.slice(0, k, k + 1));
        }
    }
}
