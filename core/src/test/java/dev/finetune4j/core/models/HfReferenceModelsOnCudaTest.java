package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * {@link HfReferenceModelsTest}'s checks on each CUDA device of {@link CudaTestDevices}, float32 weights: every
 * family's logits, masked logits and loss equal transformers' (as on the CPU, within 1e-4), greedy generation with
 * and without the KV cache gives transformers' tokens (so the CPU's), the BERT classifier its logits, and the RoBERTa,
 * XLM-RoBERTa and DistilBERT classifiers their logits, loss and gradients ({@link EncoderClassifierTest}).
 */
class HfReferenceModelsOnCudaTest {
    static Stream<Arguments> causalLmsOnDevices() {
        return onDevices(HfReferenceModelsTest::causalLms);
    }

    static Stream<Arguments> encoderClassifiersOnDevices() {
        return onDevices(EncoderClassifierTest::references);
    }

    static Stream<Arguments> greedyReferencesOnDevices() {
        return onDevices(HfReferenceModelsTest::greedyReferences);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("causalLmsOnDevices")
    void causalLmMatchesTransformers(String dir, String device) throws Exception {
        HfReferenceModelsTest.assertCausalLmMatchesTransformers(dir, CudaTestDevices.require(device));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("greedyReferencesOnDevices")
    void greedyGenerationMatchesTransformersWithAndWithoutCache(String dir, String device) throws Exception {
        HfReferenceModelsTest.assertGreedyGenerationMatchesTransformers(dir, CudaTestDevices.require(device));
    }

    @ParameterizedTest
    @MethodSource(CudaTestDevices.NAMES)
    void bertClassifierMatchesTransformers(String device) throws Exception {
        HfReferenceModelsTest.assertBertClassifierMatchesTransformers(CudaTestDevices.require(device));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("encoderClassifiersOnDevices")
    void encoderClassifierMatchesTransformers(String name, String device) throws Exception {
        EncoderClassifierTest.assertMatchesTransformers(name, CudaTestDevices.require(device));
    }

    private static Stream<Arguments> onDevices(Supplier<Stream<String>> dirs) {
        return CudaTestDevices.names().flatMap(device -> dirs.get().map(dir -> Arguments.of(dir, device)));
    }
}
