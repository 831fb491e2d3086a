package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import org.junit.jupiter.api.Assumptions;

/**
 * {@link CudaBackendTest}'s checks (memory, transfers, errors, ops through autograd) on {@code emucuda:0}, the real
 * CUDA backend whose kernels run on the CPU under emulation ({@link EmulatedCuda}). Skipped without g++.
 */
class EmulatedCudaBackendTest extends CudaBackendTest {
    @Override
    Device device() {
        return EmulatedCudaProvider.device();
    }

    @Override
    void assumeDevice() {
        Assumptions.assumeTrue(EmulatedCudaProvider.unavailableReason().isEmpty(),
                () -> EmulatedCudaProvider.unavailableReason().orElse(""));
    }
}
