package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaKernelConformanceTest}'s checks on {@code emucuda:0}: the real CUDA backend whose kernels run on the CPU
 * under emulation and whose GEMMs are computed on the host ({@link EmulatedCuda}), at the GPU test's sizes.
 * Skipped without g++. The check that the attention backward gives the same bits twice is skipped: one emulated
 * thread at a time is deterministic by construction, so it would say nothing.
 */
class EmulatedCudaKernelConformanceTest extends CudaKernelConformanceTest {
    @Override
    Device device() {
        return EmulatedCudaProvider.device();
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
