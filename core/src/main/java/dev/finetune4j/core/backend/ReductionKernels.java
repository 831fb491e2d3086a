package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

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
}
