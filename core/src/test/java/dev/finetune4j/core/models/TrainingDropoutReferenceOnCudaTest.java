package dev.finetune4j.core.models;

import dev.finetune4j.core.backend.cuda.CudaTestDevices;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * {@link TrainingDropoutReferenceTest}'s cases on each CUDA device of {@link CudaTestDevices}: the attention kernels'
 * dropout twins and the dropout kernel draw the CPU's masks. On a GPU every case; on the emulated device GPT-2 (its
 * three dropouts, with gradient checkpointing too), the BERT classifier (dropout before its head) and the DistilBERT
 * classifier (no dropout on the attention's output, its padding rows cut from the word table's gradient).
 */
class TrainingDropoutReferenceOnCudaTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> casesOnDevices() {
        return CudaTestDevices.names().flatMap(device -> (CudaTestDevices.emulated(device)
                ? Stream.of("gpt2", "bert_cls", "distilbert_cls")
                : Stream.of("gpt2", "llama", "phi3", "starcoder2", "seed_oss", "ernie4_5", "bert_cls", "qwen2_cls",
                        "roberta_cls", "xlm_roberta_cls", "distilbert_cls"))
                .map(name -> Arguments.of(name, device)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("casesOnDevices")
    void trainingModeMatchesTransformersWithTheSameMasks(String name, String device) throws Exception {
        TrainingDropoutReferenceTest.check(name, false, CudaTestDevices.require(device), tmp);
    }

    @ParameterizedTest(name = "gpt2 with checkpointing on {0}")
    @MethodSource(CudaTestDevices.NAMES)
    void gradientCheckpointingRedrawsTheSameMasks(String device) throws Exception {
        TrainingDropoutReferenceTest.check("gpt2", true, CudaTestDevices.require(device), tmp);
    }
}
