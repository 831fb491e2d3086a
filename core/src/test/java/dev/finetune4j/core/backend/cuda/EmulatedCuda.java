package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@link FakeCuda} stand-ins, with every check they make, carrying the calls out: device memory is real host
 * memory (filled with 0xFF bytes, NaN as floats, since cuMemAlloc does not clear it, and followed by a guard of
 * signalling-NaN floats that each queued operation must leave intact, so that a store or an atomic add past an
 * allocation's end fails with the operation's name and a float read there gives NaN), copies and memsets move real
 * bytes, kernel launches run the kernels under the CPU emulation of {@link EmulatedKernels}, and GEMMs are computed
 * by {@link HostGemm}.
 * <p>
 * Work is ordered as on a stream: launches, GEMMs, memsets and copies from or to pinned host memory are queued and
 * run only when the stream is synchronized, so that host code reading a pinned buffer before the copy into it has
 * finished, or rewriting one before the copy out of it has, sees the wrong bytes here as it would on a GPU. A copy
 * from pageable memory takes its bytes at the call, and one into pageable memory waits for the queue first, as the
 * driver does. Freeing device memory while anything is queued fails (the driver promises no ordering there, and
 * the allocator synchronizes first), and so does freeing pinned memory that a queued copy uses.
 */
final class EmulatedCuda extends FakeCuda {
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final long GUARD_BYTES = 1024;
    /** Signalling NaNs: a float read gives NaN, and adding to one quiets it, which changes its bits. */
    private static final MemorySegment GUARD = guardPattern();
    private final EmulatedKernels kernels;
    private final Map<Long, Allocation> allocations = new HashMap<>();
    private final TreeMap<Long, Long> pinned = new TreeMap<>();
    private final Map<String, Map<String, KernelSignature>> signatures = new HashMap<>();
    private final List<Work> queue = new ArrayList<>();

    /** Queued work, what it is, and the pinned buffer it copies from or to (0 for none). */
    private record Work(String what, Runnable run, long pinnedBuffer) {
    }

    /** A device allocation of {@code bytes}, then its guard, owned by {@code arena}. */
    private record Allocation(Arena arena, MemorySegment block, long bytes) {
        MemorySegment guard() {
            return block.asSlice(bytes);
        }
    }

    EmulatedCuda(EmulatedKernels kernels) {
        this.kernels = kernels;
    }

    @Override
    long place(long bytes) {
        Arena arena = Arena.ofShared();
        MemorySegment block = arena.allocate(bytes + GUARD_BYTES, 256);
        block.fill((byte) 0xFF);
        block.asSlice(bytes).copyFrom(GUARD);
        allocations.put(block.address(), new Allocation(arena, block, bytes));
        return block.address();
    }

    @Override
    void release(long pointer) {
        requireIdle("cuMemFree of 0x" + Long.toHexString(pointer));
        allocations.remove(pointer).arena().close();
    }

    @Override
    void perform(String name, Object[] a) {
        switch (name) {
            case "cuMemHostAlloc" -> pinned.put(((MemorySegment) a[0]).reinterpret(8).get(ValueLayout.JAVA_LONG, 0),
                    (long) a[1]);
            case "cuMemFreeHost" -> {
                long buffer = ((MemorySegment) a[0]).address();
                if (queue.stream().anyMatch(w -> w.pinnedBuffer() == buffer)) {
                    throw new AssertionError("cuMemFreeHost of 0x" + Long.toHexString(buffer) + " while a queued copy"
                            + " uses it: synchronize the stream first");
                }
                pinned.remove(buffer);
            }
            case "cuMemcpyHtoDAsync_v2" -> upload(((MemorySegment) a[1]).address(), (long) a[0], (long) a[2]);
            case "cuMemcpyDtoHAsync_v2" -> download((long) a[1], ((MemorySegment) a[0]).address(), (long) a[2]);
            case "cuMemsetD8Async" -> {
                long pointer = (long) a[0], bytes = (long) a[2];
                byte value = (byte) a[1];
                queue.add(new Work("cuMemsetD8Async", () -> MEMORY.asSlice(pointer, bytes).fill(value), 0));
            }
            case "cuLaunchKernel" -> {
                String[] sourceAndKernel = kernelOf(((MemorySegment) a[0]).address());
                queue.add(new Work(sourceAndKernel[0] + "'s " + sourceAndKernel[1], launch(a), 0));
            }
            case "cublasGemmStridedBatchedEx" -> queue.add(new Work("cublasGemmStridedBatchedEx", HostGemm.of(a), 0));
            case "cuEventRecord" -> {
                long event = ((MemorySegment) a[0]).address();
                queue.add(new Work("cuEventRecord", () -> stampEvent(event, System.nanoTime()), 0));
            }
            case "cuStreamSynchronize", "cuStreamQuery", "cuEventSynchronize" -> drain();
            default -> {
                // the other calls change no memory
            }
        }
    }

    private void upload(long src, long dst, long bytes) {
        long buffer = pinnedBuffer(src, bytes);
        if (buffer != 0) {
            queue.add(new Work("cuMemcpyHtoDAsync", () -> MemorySegment.copy(MEMORY, src, MEMORY, dst, bytes), buffer));
        } else {
            byte[] staged = MEMORY.asSlice(src, bytes).toArray(ValueLayout.JAVA_BYTE);
            queue.add(new Work("cuMemcpyHtoDAsync", () -> MemorySegment.copy(MemorySegment.ofArray(staged), 0, MEMORY,
                    dst, bytes), 0));
        }
    }

    private void download(long src, long dst, long bytes) {
        long buffer = pinnedBuffer(dst, bytes);
        queue.add(new Work("cuMemcpyDtoHAsync", () -> MemorySegment.copy(MEMORY, src, MEMORY, dst, bytes), buffer));
        if (buffer == 0) {
            drain();
        }
    }

    /** The pinned buffer that holds {@code [address, address + bytes)}, or 0 when that is pageable memory. */
    private long pinnedBuffer(long address, long bytes) {
        var block = pinned.floorEntry(address);
        return block != null && address + bytes <= block.getKey() + block.getValue() ? block.getKey() : 0;
    }

    private void requireIdle(String what) {
        if (!queue.isEmpty()) {
            throw new AssertionError(what + " while " + queue.size() + " operations are queued on the stream: the"
                    + " driver does not promise to wait for them; synchronize the stream first");
        }
    }

    private void drain() {
        List<Work> queued = List.copyOf(queue);
        queue.clear();
        for (Work work : queued) {
            work.run().run();
            requireGuards(work.what());
        }
    }

    private static MemorySegment guardPattern() {
        MemorySegment pattern = Arena.global().allocate(GUARD_BYTES);
        for (long i = 0; i < GUARD_BYTES; i += 4) {
            pattern.set(ValueLayout.JAVA_INT_UNALIGNED, i, 0x7f80_0001);
        }
        return pattern;
    }

    /** Fails, naming {@code what} wrote there, when a byte after the end of a device allocation has changed. */
    private void requireGuards(String what) {
        for (Allocation a : allocations.values()) {
            long changed = a.guard().mismatch(GUARD);
            if (changed >= 0) {
                a.guard().copyFrom(GUARD);
                throw new AssertionError(what + " wrote byte " + (a.bytes() + changed) + " of the " + a.bytes()
                        + "-byte device allocation at 0x" + Long.toHexString(a.block().address())
                        + ", past its end (on a GPU: another allocation's data, or CUDA_ERROR_ILLEGAL_ADDRESS)");
            }
        }
    }

    /**
     * The launch {@code a} describes, with its parameter values copied now, as cuLaunchKernel copies them: the
     * caller may reuse its parameter array as soon as the call returns.
     */
    private Runnable launch(Object[] a) {
        if ((int) a[2] != 1 || (int) a[3] != 1 || (int) a[5] != 1 || (int) a[6] != 1) {
            throw new AssertionError("the emulation runs one-dimensional launches only, not grid " + a[1] + "x" + a[2]
                    + "x" + a[3] + ", block " + a[4] + "x" + a[5] + "x" + a[6]);
        }
        String[] sourceAndKernel = kernelOf(((MemorySegment) a[0]).address());
        String source = sourceAndKernel[0];
        String kernel = sourceAndKernel[1];
        List<KernelSignature.Param> params = signatures.computeIfAbsent(source,
                s -> KernelSignatures.of(KernelSources.family(s.replace(".cu", "")))).get(kernel).params();
        MemorySegment given = ((MemorySegment) a[9]).reinterpret((long) params.size() * 8);
        Arena arena = Arena.ofShared();
        MemorySegment copied = arena.allocate(ValueLayout.ADDRESS, params.size());
        for (int i = 0; i < params.size(); i++) {
            long bytes = params.get(i).type().bytes();
            MemorySegment value = arena.allocate(bytes, 8);
            value.copyFrom(given.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(bytes));
            copied.setAtIndex(ValueLayout.ADDRESS, i, value);
        }
        int grid = (int) a[1], block = (int) a[4], shared = (int) a[7];
        return () -> {
            try (arena) {
                kernels.launch(source, kernel, grid, block, shared, copied);
            }
        };
    }
}
