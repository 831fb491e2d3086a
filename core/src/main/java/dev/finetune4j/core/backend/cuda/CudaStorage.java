package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Storage;

/** A block of device memory from the {@link CachingAllocator}; freeing gives it back to the allocator's cache. */
final class CudaStorage implements Storage {
    private final Device device;
    private final CachingAllocator allocator;
    private final long pointer;
    private final long bytes;

    CudaStorage(Device device, CachingAllocator allocator, long pointer, long bytes) {
        this.device = device;
        this.allocator = allocator;
        this.pointer = pointer;
        this.bytes = bytes;
    }

    /** The device address of the first byte. */
    long pointer() {
        return pointer;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public void free() {
        allocator.release(pointer, bytes);
    }
}
