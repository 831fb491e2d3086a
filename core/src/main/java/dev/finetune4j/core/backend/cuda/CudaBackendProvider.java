package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.BackendProvider;
import dev.finetune4j.core.backend.Device;

import java.util.Optional;

/**
 * Serves {@code cuda:N} devices through {@link java.util.ServiceLoader}. The libraries are looked for and the
 * driver started once per process; the answer (or the reason there is no GPU) is kept.
 */
public final class CudaBackendProvider implements BackendProvider {
    /**
     * Set to {@code 1}, every kernel launch waits for its kernel, so that one that faults is named in the
     * exception (slow: for finding such a kernel).
     */
    public static final String SYNC_ENV = "FINETUNE4J_CUDA_SYNC";
    /**
     * Set to {@code 1}, tensors created uninitialized (an op's output, which its kernel overwrites) start as NaN
     * instead of whatever the memory held, so that a kernel that reads an output element it has not written shows.
     */
    public static final String POISON_ENV = "FINETUNE4J_CUDA_POISON";

    /** The provider {@link java.util.ServiceLoader} instantiates; nothing is loaded before the first question. */
    public CudaBackendProvider() {
    }

    /** What one look for the CUDA stack found: the libraries and the device count, or why not. */
    private record Probe(CudaLibraries libraries, int devices, String reason) {
    }

    private static Probe probe;

    @Override
    public String deviceType() {
        return "cuda";
    }

    @Override
    public Optional<String> unavailableReason(int index) {
        try {
            Probe p = probe();
            if (p.reason() != null) {
                return Optional.of(p.reason());
            }
            if (index >= p.devices()) {
                return Optional.of(p.devices() == 0 ? "the CUDA driver sees no GPU"
                        : "there is no cuda:" + index + " (the driver sees " + p.devices() + " GPUs, cuda:0 to cuda:"
                        + (p.devices() - 1) + ")");
            }
            return Optional.empty();
        } catch (Throwable t) {
            return Optional.of("the CUDA backend could not start: " + t);
        }
    }

    @Override
    public Backend open(int index) {
        Probe p = probe();
        if (p.reason() != null) {
            throw new IllegalStateException("cuda:" + index + " cannot be used: " + p.reason());
        }
        CudaLibraries libs = p.libraries();
        return new CudaBackend(new Device("cuda", index), libs.driver(), libs.cublas(), libs.nvrtc(),
                new KernelCache(KernelCache.defaultDir()), CudaChecks.from(System.getenv()));
    }

    private static synchronized Probe probe() {
        if (probe == null) {
            probe = look();
        }
        return probe;
    }

    private static Probe look() {
        Module self = CudaBackendProvider.class.getModule();
        if (!self.isNativeAccessEnabled()) {
            // NOTE: checked first so that a JVM without the flag gets this reason, not a warning from the loader.
            return new Probe(null, 0, "native access is not enabled, so the CUDA libraries cannot be loaded: start"
                    + " java with --enable-native-access=" + (self.isNamed() ? self.getName() : "ALL-UNNAMED"));
        }
        CudaLibraries libs;
        try {
            libs = CudaLibraries.load(System.getenv());
        } catch (LibraryFinder.NotFound e) {
            return new Probe(null, 0, e.getMessage());
        }
        try {
            libs.driver().init();
            return new Probe(libs, libs.driver().deviceCount(), null);
        } catch (CudaException e) {
            libs.close();
            return new Probe(null, 0, "the CUDA driver did not start: " + e.getMessage());
        }
    }
}
