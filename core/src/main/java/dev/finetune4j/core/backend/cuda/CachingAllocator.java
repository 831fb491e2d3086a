package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.MemoryCounter;
import dev.finetune4j.core.backend.MemoryStats;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory in size classes with free lists: a released block waits in its class's list for the next request
 * of that class, so a training step reuses the previous step's blocks and makes no driver allocation. When the
 * driver is out of memory, the cached blocks are given back and the request tried once more.
 *
 * <p>All work is ordered on one stream, so a block released by one kernel's tensor can be handed to the next
 * kernel at once. Thread-safe.
 */
final class CachingAllocator implements AutoCloseable {
    /** The smallest class; every class is a multiple of it, so device pointers stay 512-byte aligned. */
    static final long MIN_BLOCK = 512;

    private final DeviceMemory memory;
    private final MemoryCounter counter = new MemoryCounter();
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private final Map<Long, Long> liveClass = new HashMap<>();
    private long cachedBytes;
    private long driverAllocations;

    CachingAllocator(DeviceMemory memory) {
        this.memory = memory;
    }

    /**
     * The class a request of {@code bytes} is served from: {@link #MIN_BLOCK} up to that size, then the next of
     * four steps per power of two (at most 25% waste).
     */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) {
            return MIN_BLOCK;
        }
        int power = 63 - Long.numberOfLeadingZeros(bytes - 1);
        long step = Math.max(MIN_BLOCK, (1L << power) / 4);
        return (bytes + step - 1) / step * step;
    }

    /**
     * A block of at least {@code bytes} (not zeroed).
     *
     * @throws CudaOutOfMemoryException when it does not fit even after the cache is emptied
     */
    synchronized long allocate(long bytes) {
        long size = sizeClass(bytes);
        ArrayDeque<Long> list = free.get(size);
        long pointer;
        if (list != null && !list.isEmpty()) {
            pointer = list.pop();
            cachedBytes -= size;
        } else {
            pointer = fromDriver(bytes, size);
        }
        liveClass.put(pointer, size);
        counter.allocated(bytes);
        return pointer;
    }

    private long fromDriver(long bytes, long size) {
        try {
            driverAllocations++;
            return memory.allocate(size);
        } catch (CudaException e) {
            if (e.status() != CudaDriver.CUDA_ERROR_OUT_OF_MEMORY) {
                throw e;
            }
        }
        emptyCache();
        try {
            return memory.allocate(size);
        } catch (CudaException e) {
            if (e.status() != CudaDriver.CUDA_ERROR_OUT_OF_MEMORY) {
                throw e;
            }
            long[] info = memory.info();
            throw new CudaOutOfMemoryException(bytes, info[0], info[1]);
        }
    }

    /** Gives a block of {@code bytes} (as asked) back to its class's free list. */
    synchronized void release(long pointer, long bytes) {
        Long size = liveClass.remove(pointer);
        if (size == null) {
            throw new IllegalStateException("device block 0x" + Long.toHexString(pointer) + " released twice or never allocated here");
        }
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(pointer);
        cachedBytes += size;
        counter.freed(bytes);
    }

    /**
     * Returns every cached (free) block to the driver, once the queued work that may still use them has finished:
     * a block is cached as soon as its tensor is released, and cuMemFree does not promise to wait for the work.
     */
    synchronized void emptyCache() {
        if (cachedBytes > 0) {
            memory.synchronize();
        }
        free.values().forEach(list -> list.forEach(memory::free));
        free.clear();
        cachedBytes = 0;
    }

    /** Bytes of the tensors alive now, and their peak. */
    MemoryStats stats() {
        return counter.stats();
    }

    void resetPeak() {
        counter.resetPeak();
    }

    /** Bytes held in free lists. */
    synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** How many times the driver was asked for memory, for tests that a steady state asks it for none. */
    synchronized long driverAllocations() {
        return driverAllocations;
    }

    /** Waits for queued work, then frees the cached blocks and every block still handed out. */
    @Override
    public synchronized void close() {
        memory.synchronize();
        emptyCache();
        liveClass.keySet().forEach(memory::free);
        liveClass.clear();
    }
}
