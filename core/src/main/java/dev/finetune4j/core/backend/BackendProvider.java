package dev.finetune4j.core.backend;

import java.util.Optional;

/**
 * Plugs a kind of device into {@link Device} through {@link java.util.ServiceLoader} (list the class in
 * {@code META-INF/services/dev.finetune4j.core.backend.BackendProvider}). The CPU needs no provider.
 */
public interface BackendProvider {

    /**
     * The device type this provider serves, as in {@code "cuda"} of {@code cuda:0}.
     *
     * @return the device type
     */
    String deviceType();

    /**
     * Why device {@code index} cannot be used here (no driver, no such device, libraries missing), or empty when
     * it can; must not throw.
     *
     * @param index the device number
     * @return the reason, or empty
     */
    Optional<String> unavailableReason(int index);

    /**
     * Starts the backend of device {@code index}; called once per device, after {@link #unavailableReason} said
     * it is available.
     *
     * @param index the device number
     * @return the backend
     */
    Backend open(int index);
}
