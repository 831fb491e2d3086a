package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@link FakeCuda} stand-ins, with every check they make, carrying the calls out: device memory is real host
 * memory (filled with 0xFF bytes, NaN as floats, since cuMemAlloc does not clear it), copies and memsets move real
 * bytes, kernel launches run the kernels under the CPU emulation of {@link EmulatedKernels}, and GEMMs are computed
 * by {@link HostGemm}. Work runs when it is queued, so a stream is always idle.
 */
final class EmulatedCuda extends FakeCuda {
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private final EmulatedKernels kernels;
    private final Map<Long, Arena> allocations = new HashMap<>();

    EmulatedCuda(EmulatedKernels kernels) {
        this.kernels = kernels;
    }

    @Override
    long place(long bytes) {
        Arena arena = Arena.ofShared();
        MemorySegment block = arena.allocate(bytes, 256);
        block.fill((byte) 0xFF);
        allocations.put(block.address(), arena);
        return block.address();
    }

    @Override
    void release(long pointer) {
        allocations.remove(pointer).close();
    }

    @Override
    void perform(String name, Object[] a) {
        switch (name) {
            case "cuMemcpyHtoDAsync_v2" -> MemorySegment.copy(MEMORY, ((MemorySegment) a[1]).address(), MEMORY,
                    (long) a[0], (long) a[2]);
            case "cuMemcpyDtoHAsync_v2" -> MemorySegment.copy(MEMORY, (long) a[1], MEMORY,
                    ((MemorySegment) a[0]).address(), (long) a[2]);
            case "cuMemsetD8Async" -> MEMORY.asSlice((long) a[0], (long) a[2]).fill((byte) a[1]);
            case "cuLaunchKernel" -> {
                if ((int) a[2] != 1 || (int) a[3] != 1 || (int) a[5] != 1 || (int) a[6] != 1) {
                    throw new AssertionError("the emulation runs one-dimensional launches only, not grid " + a[1]
                            + "x" + a[2] + "x" + a[3] + ", block " + a[4] + "x" + a[5] + "x" + a[6]);
                }
                String[] sourceAndKernel = kernelOf(((MemorySegment) a[0]).address());
                kernels.launch(sourceAndKernel[0], sourceAndKernel[1], (int) a[1], (int) a[4], (int) a[7],
                        (MemorySegment) a[9]);
            }
            case "cublasGemmStridedBatchedEx" -> HostGemm.run(a);
            default -> {
                // the other calls change no memory
            }
        }
    }
}
