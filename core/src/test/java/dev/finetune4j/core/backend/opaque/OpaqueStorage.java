package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Storage;

import java.lang.foreign.Arena;

/** A handle into {@link OpaqueBackend}'s memory: nothing here gives the bytes away. */
final class OpaqueStorage implements Storage {
    private final OpaqueBackend owner;
    private final Arena arena;
    private final long bytes;

    OpaqueStorage(OpaqueBackend owner, Arena arena, long bytes) {
        this.owner = owner;
        this.arena = arena;
        this.bytes = bytes;
    }

    OpaqueBackend owner() {
        return owner;
    }

    @Override
    public Device device() {
        return owner.device();
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public void free() {
        owner.free(this);
        arena.close();
    }
}
