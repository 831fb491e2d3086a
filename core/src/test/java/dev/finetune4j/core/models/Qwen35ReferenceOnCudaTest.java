package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Qwen35ReferenceTest}'s gradients on each CUDA device of {@link CudaTestDevices}: the linear-attention layers'
 * convolution and gated delta rule backward (recurrent.cu) through the whole model, against PyTorch's.
 * FamilyReferencesOnCudaTest checks the logits and the generation with the recurrent cache.
 */
class Qwen35ReferenceOnCudaTest {

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void gradientsThroughTheGatedDeltaNetMatchTorch(String device) throws Exception {
        MixtureOfExpertsTest.assertGradientsMatchTorch("qwen3_5", CudaTestDevices.require(device), 2e-4);
    }
}
