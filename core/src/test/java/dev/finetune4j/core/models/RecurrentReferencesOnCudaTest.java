package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/**
 * The recurrent layers' gradients on each CUDA device of {@link CudaTestDevices}, against PyTorch's through the whole
 * model: Qwen3.5's gated DeltaNet ({@link Qwen35ReferenceTest}: the convolution and the delta rule's backward in
 * recurrent.cu) and Granite 4.0 H's Mamba-2 layers ({@link Granite4HybridReferenceTest}: the convolution with its
 * biases and the additive update's backward; with its mixture of stacked experts too), and Falcon-H1's mixers beside
 * its attention (the grouped gated norm and the muP factors). FamilyReferencesOnCudaTest checks their logits and the generation with
 * the recurrent cache.
 */
class RecurrentReferencesOnCudaTest {
    static Stream<Arguments> foldersOnDevices() {
        return CudaTestDevices.names().flatMap(device -> Stream.of(Arguments.of("qwen3_5", 2e-4, device),
                Arguments.of("granite4_h", 1e-4, device), Arguments.of("granite4_h_moe", 1e-4, device),
                Arguments.of("falcon_h1", 1e-4, device),
                Arguments.of("nemotron_h", 1e-4, device)));
    }

    @ParameterizedTest(name = "{0} on {2}")
    @MethodSource("foldersOnDevices")
    void gradientsThroughTheRecurrentLayersMatchTorch(String family, double tolerance, String device) throws Exception {
        ReferenceGradients.assertMatch(family, CudaTestDevices.require(device), tolerance);
    }
}
