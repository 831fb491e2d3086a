package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/**
 * The ranks of one data-parallel run, each training its own replica of the model: threads of one JVM
 * ({@link LocalCollective}), or processes on one or many machines. A trainer given a collective takes its share of
 * every step's micro-batches and sums the gradients with the other ranks before the update, so every replica takes
 * the same update.
 *
 * <p>Every rank calls the same operations in the same order with tensors of the same dtypes and sizes; a mismatch
 * the transport can see fails on every rank with what each side had. An operation blocks until every rank has
 * joined it; a rank that fails or closes makes the others' current and later operations fail with
 * {@link CollectiveException} instead of waiting for it forever.
 *
 * <p>Results are bit-for-bit the same on every rank (a sum is added in the same order everywhere), so replicas that
 * start equal stay equal.
 */
public interface Collective extends AutoCloseable {

    /**
     * A group of one: every operation leaves its tensors as they are.
     *
     * @return the collective of a run without data parallelism
     */
    static Collective single() {
        return SingleRank.INSTANCE;
    }

    /**
     * This process's (or thread's) place in the group.
     *
     * @return this rank, {@code 0 <= rank < worldSize}
     */
    int rank();

    /**
     * The size of the group.
     *
     * @return the number of ranks
     */
    int worldSize();

    /**
     * Replaces each tensor, in place, with its sum over the ranks.
     *
     * @param tensors contiguous float32 tensors, the same sizes in the same order on every rank
     * @throws CollectiveException when a rank failed, left or timed out, or the ranks' sizes differ
     */
    void allReduceSum(List<Tensor> tensors);

    /**
     * Replaces each tensor, in place, with rank {@code root}'s.
     *
     * @param tensors contiguous tensors of any dtype, the same dtypes and sizes in the same order on every rank
     * @param root    the rank whose values every rank gets
     * @throws CollectiveException when a rank failed, left or timed out, or the ranks' sizes differ
     */
    void broadcast(List<Tensor> tensors, int root);

    /**
     * Waits until every rank has called it.
     *
     * @throws CollectiveException when a rank failed, left or timed out
     */
    void barrier();

    /**
     * Leaves the group; the other ranks' operations fail from now on. Idempotent.
     */
    @Override
    void close();
}
