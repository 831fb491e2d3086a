package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link MixtureOfExpertsTest}'s gradients on each CUDA device of {@link CudaTestDevices}: the backward of the experts'
 * row gathers (scatter-adds on the device) and of the routing weights, for Qwen2-MoE (a shared expert, a dense layer),
 * and gpt-oss's sinks, biased router and clamped stacked experts.
 */
class MixtureOfExpertsOnCudaTest {

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void gradientsThroughTheRoutingMatchTorch(String device) throws Exception {
        ReferenceGradients.assertMatch("qwen2_moe", CudaTestDevices.require(device));
    }

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void gptOssGradientsMatchTorch(String device) throws Exception {
        ReferenceGradients.assertMatch("gpt_oss", CudaTestDevices.require(device));
    }
}
