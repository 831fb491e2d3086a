package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.List;

/**
 * The argument checks every {@link Collective} makes before it moves data, with the same messages whatever the
 * transport (host memory, sockets, NCCL on the device).
 */
public final class CollectiveArguments {

    private CollectiveArguments() {
    }

    /**
     * Fails unless every tensor is a contiguous float32 one, naming the first that is not.
     *
     * @param tensors the tensors of an {@link Collective#allReduceSum}
     * @throws IllegalArgumentException naming the tensor and what to do
     */
    public static void requireFloat32(List<Tensor> tensors) {
        for (Tensor t : tensors) {
            requireContiguous(t);
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException("allReduceSum sums float32 tensors, not " + t
                        + ": convert it first (Tensor.convertTo)");
            }
        }
    }

    /**
     * Fails unless {@code t} is contiguous: an operation rewrites whole tensors in place.
     *
     * @param t a tensor of a collective operation
     * @throws IllegalArgumentException naming the tensor and what to do
     */
    public static void requireContiguous(Tensor t) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("a collective operation rewrites whole tensors in place, but " + t
                    + " is a non-contiguous view: pass a contiguous tensor (Tensor.contiguous) and copy it back");
        }
    }

    /**
     * Fails unless {@code root} is a rank of a group of {@code worldSize}.
     *
     * @param root      the root of a {@link Collective#broadcast}
     * @param worldSize the number of ranks
     * @throws IllegalArgumentException naming the root and the ranks there are
     */
    public static void requireRoot(int root, int worldSize) {
        if (root < 0 || root >= worldSize) {
            throw new IllegalArgumentException("broadcast root " + root + " is not a rank of this group of "
                    + worldSize + " (ranks 0 to " + (worldSize - 1) + ")");
        }
    }
}
