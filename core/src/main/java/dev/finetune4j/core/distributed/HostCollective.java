package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A collective whose transport moves host memory: the tensors of one operation are copied into one host buffer
 * (one transfer per tensor, one exchange per operation), exchanged, and copied back. It works for tensors on any
 * device; GPUs have a faster path that keeps the data on the device.
 */
abstract class HostCollective implements Collective {

    /**
     * Replaces {@code floats} (float32 values, the same length on every rank) with their sum over the ranks, added
     * in an order the transport fixes and documents (LocalCollective: rank order; SocketCollective: ring order),
     * the same on every rank, so the sums are bit-for-bit the same everywhere.
     *
     * @param floats the host buffer of this rank's values, rewritten with the sums
     */
    protected abstract void allReduceSum(MemorySegment floats);

    /**
     * Replaces {@code bytes} (the same length on every rank) with rank {@code root}'s.
     *
     * @param bytes the host buffer of this rank's bytes, rewritten with the root's
     * @param root  the rank whose bytes every rank gets
     */
    protected abstract void broadcast(MemorySegment bytes, int root);

    @Override
    public final void allReduceSum(List<Tensor> tensors) {
        requireFloat32(tensors);
        exchange(tensors, this::allReduceSum);
    }

    @Override
    public final void broadcast(List<Tensor> tensors, int root) {
        requireRoot(root, worldSize());
        for (Tensor t : tensors) {
            requireContiguous(t);
        }
        exchange(tensors, bytes -> broadcast(bytes, root));
    }

    /** Copies the tensors into one host buffer, lets {@code transport} rewrite it, and copies it back. */
    private static void exchange(List<Tensor> tensors, java.util.function.Consumer<MemorySegment> transport) {
        long total = 0;
        for (Tensor t : tensors) {
            total += t.dtype().bytesFor(t.numel());
        }
        // shared: a transport may read and write the buffer from its own threads (the local group's last arrival)
        try (Arena arena = Arena.ofShared()) {
            MemorySegment host = arena.allocate(Math.max(1, total), 64).asSlice(0, total);
            long at = 0;
            for (Tensor t : tensors) {
                long size = t.dtype().bytesFor(t.numel());
                t.backend().copyToHost(t, host.asSlice(at, size));
                at += size;
            }
            transport.accept(host);
            at = 0;
            for (Tensor t : tensors) {
                long size = t.dtype().bytesFor(t.numel());
                t.backend().copyFromHost(host.asSlice(at, size), t);
                at += size;
            }
        }
    }

    /** Fails unless every tensor is a contiguous float32 one, naming the first that is not. */
    static void requireFloat32(List<Tensor> tensors) {
        for (Tensor t : tensors) {
            requireContiguous(t);
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException("allReduceSum sums float32 tensors, not " + t
                        + ": convert it first (Tensor.convertTo)");
            }
        }
    }

    private static void requireContiguous(Tensor t) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("a collective operation rewrites whole tensors in place, but " + t
                    + " is a non-contiguous view: pass a contiguous tensor (Tensor.contiguous) and copy it back");
        }
    }

    /** Fails unless {@code root} is a rank of a group of {@code worldSize}. */
    static void requireRoot(int root, int worldSize) {
        if (root < 0 || root >= worldSize) {
            throw new IllegalArgumentException("broadcast root " + root + " is not a rank of this group of "
                    + worldSize + " (ranks 0 to " + (worldSize - 1) + ")");
        }
    }
}
