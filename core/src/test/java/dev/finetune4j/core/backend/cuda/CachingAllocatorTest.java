package dev.finetune4j.core.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CachingAllocatorTest {

    /** A device of {@code capacity} bytes that hands out increasing addresses. */
    private static final class FakeMemory implements DeviceMemory {
        final long capacity;
        long used;
        long next = 1L << 20;
        final List<Long> sizes = new ArrayList<>();
        final Set<Long> live = new HashSet<>();
        final java.util.Map<Long, Long> sizeOf = new java.util.HashMap<>();
        /** "sync" and "free" in the order they were asked for. */
        final List<String> calls = new ArrayList<>();

        FakeMemory(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long allocate(long bytes) {
            if (used + bytes > capacity) {
                throw new CudaException("cuMemAlloc failed", CudaDriver.CUDA_ERROR_OUT_OF_MEMORY);
            }
            used += bytes;
            sizes.add(bytes);
            long p = next;
            next += bytes;
            live.add(p);
            sizeOf.put(p, bytes);
            return p;
        }

        @Override
        public void free(long pointer) {
            calls.add("free");
            assertTrue(live.remove(pointer), "freed a block it does not own");
            used -= sizeOf.remove(pointer);
        }

        @Override
        public void synchronize() {
            calls.add("sync");
        }

        @Override
        public long[] info() {
            return new long[]{capacity - used, capacity};
        }
    }

    @Test
    void sizeClassesRoundUpToAQuarterOfAPowerOfTwoAbove2KiB() {
        assertEquals(512, CachingAllocator.sizeClass(1));
        assertEquals(512, CachingAllocator.sizeClass(512));
        assertEquals(1024, CachingAllocator.sizeClass(513), "classes stay multiples of 512");
        assertEquals(2560, CachingAllocator.sizeClass(2049));
        assertEquals(5L << 20, CachingAllocator.sizeClass((4L << 20) + 1));
        assertEquals(8L << 20, CachingAllocator.sizeClass(8L << 20));
        for (long bytes = 1; bytes < 10_000_000; bytes = bytes * 3 + 7) {
            long c = CachingAllocator.sizeClass(bytes);
            assertTrue(c >= bytes && c % CachingAllocator.MIN_BLOCK == 0, "class " + c + " for " + bytes);
            assertTrue(bytes <= 4 * CachingAllocator.MIN_BLOCK || c <= bytes * 1.25, "waste of class " + c + " for " + bytes);
        }
    }

    @Test
    void aSteadyStateReusesBlocksWithoutDriverAllocations() {
        FakeMemory memory = new FakeMemory(1L << 30);
        CachingAllocator allocator = new CachingAllocator(memory);
        long[] sizes = {100, 4096, 1_000_000, 3_000, 1_000_000};
        for (int step = 0; step < 5; step++) {
            long[] blocks = new long[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                blocks[i] = allocator.allocate(sizes[i]);
            }
            for (int i = 0; i < sizes.length; i++) {
                allocator.release(blocks[i], sizes[i]);
            }
        }
        assertEquals(sizes.length, allocator.driverAllocations(), "only the first step asks the driver");
        assertEquals(0, allocator.stats().allocatedBytes());
        assertEquals(100 + 4096 + 1_000_000 + 3_000 + 1_000_000, allocator.stats().peakBytes());
        allocator.close();
        assertTrue(memory.live.isEmpty(), "closing frees every block");
        assertEquals("sync", memory.calls.getFirst(), "once the queued work has finished");
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesThenSaysWhatToTry() {
        FakeMemory memory = new FakeMemory(4L << 20);
        CachingAllocator allocator = new CachingAllocator(memory);
        long a = allocator.allocate(3L << 20);
        allocator.release(a, 3L << 20);
        long b = allocator.allocate(2L << 20);
        assertEquals(1, memory.live.size(), "the cached 3 MiB block went back to make room");
        assertEquals(List.of("sync", "free"), memory.calls, "after the work that may still read it");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> allocator.allocate(3L << 20));
        assertTrue(e.getMessage().contains("asked for 3.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("2.0 MiB free of 4.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("gradient checkpointing"), e.getMessage());
        allocator.release(b, 2L << 20);
        allocator.close();
    }

    @Test
    void releasingABlockTwiceFails() {
        CachingAllocator allocator = new CachingAllocator(new FakeMemory(1L << 20));
        long a = allocator.allocate(10);
        allocator.release(a, 10);
        assertThrows(IllegalStateException.class, () -> allocator.release(a, 10));
    }
}
