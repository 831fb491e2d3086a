package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;

/**
 * A collective whose transport moves host memory: the tensors of one operation are copied into one host buffer
 * (one transfer per tensor, one exchange per operation), exchanged, and copied back. It works for tensors on any
 * device; GPUs have a faster path that keeps the data on the device.
 */
abstract class HostCollective implements Collective {
    private MemorySegment buffer = MemorySegment.NULL;

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
        CollectiveArguments.requireFloat32(tensors);
        exchange(tensors, this::allReduceSum);
    }

    @Override
    public final void broadcast(List<Tensor> tensors, int root) {
        CollectiveArguments.requireRoot(root, worldSize());
        for (Tensor t : tensors) {
            CollectiveArguments.requireContiguous(t);
        }
        exchange(tensors, bytes -> broadcast(bytes, root));
    }

    /**
     * Copies the tensors into the host buffer, lets {@code transport} rewrite it, and copies it back. One thread at a
     * time calls the operations, so one buffer serves them all.
     */
    private void exchange(List<Tensor> tensors, Consumer<MemorySegment> transport) {
        long total = 0;
        for (Tensor t : tensors) {
            total += t.dtype().bytesFor(t.numel());
        }
        MemorySegment host = hostBuffer(total);
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

    /**
     * The first {@code bytes} of the reused host buffer, grown when an operation needs more. A new native buffer is
     * zeroed as it is made, which costs as much as the transport for gradients of 100 MB, so it is made once; it
     * lives as long as this collective is reachable (freed by the garbage collector, as {@link #close()} may come from
     * another thread while an operation reads it), and any thread may read it (the local group's last arrival does).
     */
    private MemorySegment hostBuffer(long bytes) {
        if (buffer.byteSize() < bytes) {
            buffer = Arena.ofAuto().allocate(bytes, 64);
        }
        return buffer.asSlice(0, bytes);
    }
}
