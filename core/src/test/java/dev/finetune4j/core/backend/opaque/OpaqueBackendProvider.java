package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.BackendProvider;
import dev.finetune4j.core.backend.Device;

import java.util.Optional;

/**
 * Registers the test-only {@code opaque:N} devices through {@link java.util.ServiceLoader}: {@code opaque:0}'s
 * attention takes heads of any width, {@code opaque:N}'s (N > 0) heads up to N wide, as a GPU's kernels have a widest
 * head (CUDA's 512), so that a layer's choice of head width can be tested on small models.
 */
public final class OpaqueBackendProvider implements BackendProvider {
    /** The device type. */
    public static final String TYPE = "opaque";

    /** Device {@code opaque:0}. */
    public static Device device() {
        return new Device(TYPE, 0);
    }

    /**
     * A device whose attention kernels take heads up to {@code maxHeadDim} wide and refuse wider ones.
     *
     * @param maxHeadDim the widest head, at least 1
     * @return device {@code opaque:maxHeadDim}
     */
    public static Device narrowDevice(int maxHeadDim) {
        if (maxHeadDim < 1) {
            throw new IllegalArgumentException("widest attention head " + maxHeadDim + " must be at least 1");
        }
        return new Device(TYPE, maxHeadDim);
    }

    /** The backend of {@link #device()}. */
    public static OpaqueBackend backend() {
        return (OpaqueBackend) device().backend();
    }

    @Override
    public String deviceType() {
        return TYPE;
    }

    @Override
    public Optional<String> unavailableReason(int index) {
        return Optional.empty();
    }

    @Override
    public Backend open(int index) {
        return new OpaqueBackend(new Device(TYPE, index), index == 0 ? Integer.MAX_VALUE : index);
    }
}
