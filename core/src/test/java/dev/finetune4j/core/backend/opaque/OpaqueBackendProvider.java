package dev.finetune4j.core.backend.opaque;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.BackendProvider;
import dev.finetune4j.core.backend.Device;

import java.util.Optional;

/** Registers the test-only {@code opaque:N} devices through {@link java.util.ServiceLoader}. */
public final class OpaqueBackendProvider implements BackendProvider {
    /** The device type. */
    public static final String TYPE = "opaque";

    /** Device {@code opaque:0}. */
    public static Device device() {
        return new Device(TYPE, 0);
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
        return new OpaqueBackend(new Device(TYPE, index));
    }
}
