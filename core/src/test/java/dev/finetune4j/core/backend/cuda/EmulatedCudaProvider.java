package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.BackendProvider;
import dev.finetune4j.core.backend.Device;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Registers the test-only {@code emucuda:0} device: the real {@link CudaBackend} over {@link EmulatedCuda}, whose
 * kernels run on the CPU under emulation, so that the GPU conformance tests run where no GPU is. Needs g++ on the
 * PATH, which builds the emulated kernels on first use.
 */
public final class EmulatedCudaProvider implements BackendProvider {
    /** The device type. */
    public static final String TYPE = "emucuda";

    /** Device {@code emucuda:0}. */
    static Device device() {
        return new Device(TYPE, 0);
    }

    /** The stand-in libraries behind {@link #device()}; builds the emulated kernels on first use. */
    static EmulatedCuda libraries() {
        return Libraries.INSTANCE;
    }

    /**
     * The system property that turns the emulated device off where a GPU runs the same checks for real
     * (benchmarks/gpu/check.sh sets it to {@code off}, so that device time goes to the GPU).
     */
    public static final String SWITCH = "finetune4j.emulatedCuda";

    /** Why the emulated device cannot run here, if it cannot. */
    static Optional<String> unavailableReason() {
        if ("off".equals(System.getProperty(SWITCH))) {
            return Optional.of("the emulated CUDA device is turned off (-D" + SWITCH + "=off)");
        }
        return Tools.onPath("g++").isPresent() ? Optional.empty()
                : Optional.of("g++ is not on the PATH, so the CUDA kernels cannot be built for emulation");
    }

    @Override
    public String deviceType() {
        return TYPE;
    }

    @Override
    public Optional<String> unavailableReason(int index) {
        return index == 0 ? unavailableReason() : Optional.of("the emulated CUDA device is emucuda:0 only");
    }

    @Override
    public Backend open(int index) {
        NativeFunctions f = new NativeFunctions(libraries());
        return new CudaBackend(new Device(TYPE, index), new CudaDriver(f), new Cublas(f), new Nvrtc(f),
                new KernelCache(Path.of("target", "emulated-cuda-kernels")), new CudaChecks(false, true));
    }

    /** Built on first use: g++ compiles every kernel family. */
    private static final class Libraries {
        static final EmulatedCuda INSTANCE = new EmulatedCuda(EmulatedKernels.build(Tools.onPath("g++").orElseThrow(
                () -> new IllegalStateException(unavailableReason().orElseThrow()))));
    }
}
