package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.BackendProvider;
import dev.finetune4j.core.backend.Device;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Registers the test-only {@code fakecuda:0} and {@code fakecuda:1} devices (two, for collectives across devices): the real {@link CudaBackend} (context, allocator, staging,
 * kernel loading, launches and cuBLAS calls) over the {@link FakeCuda} stand-ins for the CUDA libraries, so that
 * the backend's Java code runs, and its launches are checked, on a machine without a GPU.
 */
public final class FakeCudaProvider implements BackendProvider {
    /** The device type. */
    public static final String TYPE = "fakecuda";
    private static final FakeCuda LIBRARIES = new FakeCuda();

    /** The number of fake devices. */
    static final int DEVICES = 2;

    /** Device {@code fakecuda:0}. */
    static Device device() {
        return new Device(TYPE, 0);
    }

    /** The stand-in libraries behind {@link #device()}, to inspect what reached them. */
    static FakeCuda libraries() {
        return LIBRARIES;
    }

    @Override
    public String deviceType() {
        return TYPE;
    }

    @Override
    public Optional<String> unavailableReason(int index) {
        return index >= 0 && index < DEVICES ? Optional.empty()
                : Optional.of("the fake CUDA devices are fakecuda:0 to fakecuda:" + (DEVICES - 1));
    }

    @Override
    public Backend open(int index) {
        NativeFunctions f = new NativeFunctions(LIBRARIES);
        // The fake "cubins" are the sources' names; they are cached under target/ like real ones would be.
        return new CudaBackend(new Device(TYPE, index), new CudaDriver(f), new Cublas(f), new Nvrtc(f),
                new KernelCache(Path.of("target", "fake-cuda-kernels")), CudaChecks.NONE);
    }
}
