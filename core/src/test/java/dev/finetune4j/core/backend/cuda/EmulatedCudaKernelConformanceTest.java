package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaKernelConformanceTest}'s checks on {@code emucuda:0}: the real CUDA backend whose kernels run on the CPU
 * under emulation and whose GEMMs are computed on the host ({@link EmulatedCuda}). Skipped without g++. Sizes kept
 * small for CI: the longest causal attention is 130 positions (two tiles and a tail) instead of 1030, and the check
 * that the attention backward gives the same bits twice is skipped (one emulated thread at a time is deterministic
 * by construction; CudaAttentionEmulationTest runs the long tiled cases in C++).
 */
class EmulatedCudaKernelConformanceTest extends CudaKernelConformanceTest {
    @Override
    Device device() {
        return EmulatedCudaProvider.device();
    }

    @Override
    int longSequence() {
        return 130;
    }

    @Override
    @Test
    void attentionBackwardIsTheSameOnEveryRun() {
        Assumptions.abort("the emulation runs one thread at a time, so two runs agree by construction");
    }

    @Override
    void assumeDevice() {
        Assumptions.assumeTrue(EmulatedCudaProvider.unavailableReason().isEmpty(),
                () -> EmulatedCudaProvider.unavailableReason().orElse(""));
    }
}
