package dev.finetune4j.core.backend.meta;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Storage;

/** No memory at all: a placeholder for a parameter whose values will be loaded later. */
final class MetaStorage implements Storage {
    private final long bytes;

    MetaStorage(long bytes) {
        this.bytes = bytes;
    }

    @Override
    public Device device() {
        return Device.meta();
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public void free() {
        // nothing was allocated
    }
}
