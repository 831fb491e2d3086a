package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;

import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA devices that the model-level checks of every module run on: {@code emucuda:0}, the real CUDA backend with
 * its kernels emulated on the CPU (needs g++), and {@code cuda:0}, a GPU. Such a check is a test class named
 * {@code *OnCudaTest}, parameterized by {@link #names()}, that starts with {@link #require(String)}; on a GPU machine
 * benchmarks/gpu/check.sh runs these classes beside this package's own tests.
 */
public final class CudaTestDevices {
    /** For {@code @MethodSource}, the method {@link #names()}. */
    public static final String NAMES = "dev.finetune4j.core.backend.cuda.CudaTestDevices#names";

    private CudaTestDevices() {
    }

    /**
     * The devices' names, a test's parameter.
     *
     * @return {@code emucuda:0} and {@code cuda:0}
     */
    public static Stream<String> names() {
        return Stream.of(EmulatedCudaProvider.TYPE + ":0", "cuda:0");
    }

    /**
     * Whether {@code name} is the emulated device, whose kernels run on the CPU one block at a time: checks that cover
     * many similar cases can take a few representative ones there and all of them on a GPU.
     *
     * @param name one of {@link #names()}
     * @return true for the emulated device
     */
    public static boolean emulated(String name) {
        return Device.parse(name).type().equals(EmulatedCudaProvider.TYPE);
    }

    /**
     * The device {@code name} stands for; skips the calling test, with the reason, where it cannot run here.
     *
     * @param name one of {@link #names()}
     * @return the device
     */
    public static Device require(String name) {
        Device device = Device.parse(name);
        Optional<String> why = device.type().equals(EmulatedCudaProvider.TYPE) ? EmulatedCudaProvider.unavailableReason()
                : new CudaBackendProvider().unavailableReason(device.index());
        assumeTrue(why.isEmpty(), () -> name + " cannot run here: " + why.orElse(""));
        return device;
    }
}
