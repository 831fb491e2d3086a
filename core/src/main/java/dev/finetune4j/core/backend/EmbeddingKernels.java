package dev.finetune4j.core.backend;

import dev.finetune4j.core.tensor.Tensor;

/** Row gather from a table and its backward, the scatter-add. Ids are I64, each in {@code [0, V)} (checked by the caller). */
public interface EmbeddingKernels {

    /**
     * {@code out[n] = weight[ids[n]]}. weight: (V, C) any float dtype; ids: (N) contiguous I64; out: (N, C).
     *
     * @param weight the table
     * @param ids the row of each output
     * @param out receives the rows
     */
    void gather(Tensor weight, Tensor ids, Tensor out);

    /**
     * (forward: {@link #gather}) {@code dWeight[ids[n]] += dOut[n]}. dOut: (N, C); dWeight: (V, C), accumulated.
     *
     * @param dOut the gradient of the gathered rows
     * @param ids the forward's ids
     * @param dWeight the table's gradient, accumulated into
     */
    void scatterAdd(Tensor dOut, Tensor ids, Tensor dWeight);
}
