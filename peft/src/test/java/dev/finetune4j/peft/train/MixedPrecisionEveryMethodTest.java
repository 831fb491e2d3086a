package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.PeftModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every PEFT method x every objective trains under {@link Precision#BF16_MIXED}: no step is skipped, the loss
 * falls to within 2% of the float32 run's, the trainable tensors stay float32 masters, and the run differs from the
 * float32 one (the option reaches the method's forward pass).
 */
class MixedPrecisionEveryMethodTest {
    private static final int STEPS = 6;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.finetune4j.peft.train.EveryMethodTrainsTest#matrix")
    void trainsInBf16MixedPrecision(EveryMethodTrainsTest.Method method, EveryMethodTrainsTest.Goal goal) {
        List<Double> mixed = train(method, goal, Precision.BF16_MIXED);
        List<Double> f32 = train(method, goal, Precision.F32);
        assertTrue(mixed.stream().allMatch(Double::isFinite), method + " " + goal + ": " + mixed);
        // two steps per epoch over different examples: compare the first epoch with the last
        double last = mixed.get(STEPS - 2) + mixed.get(STEPS - 1);
        assertTrue(last < mixed.get(0) + mixed.get(1), method + " " + goal + ": loss " + mixed);
        double f32Last = f32.get(STEPS - 2) + f32.get(STEPS - 1);
        assertEquals(f32Last, last, 0.02 * f32Last, method + " " + goal + ": bf16 mixed " + mixed + " against float32 " + f32);
        assertNotEquals(f32, mixed, method + ": bf16 rounding must change the trajectory");
    }

    private static List<Double> train(EveryMethodTrainsTest.Method method, EveryMethodTrainsTest.Goal goal,
                                      Precision precision) {
        try (LanguageModel base = EveryMethodTrainsTest.tinyLlama()) {
            PeftModel model = method.wrap.apply(base);
            double lr = method == EveryMethodTrainsTest.Method.PROMPT ? 0.1 : 1e-2;
            TrainingConfig cfg = TrainingConfig.builder().maxSteps(STEPS).microBatchSize(3).learningRate(lr)
                    .schedule(Schedule.CONSTANT).shuffle(false).seed(1).logEverySteps(0).precision(precision).build();
            TrainResult result = goal.train(model, cfg);
            assertEquals(0, result.skippedSteps(), method + " " + precision);
            for (Tensor p : model.trainableParameters().values()) {
                assertEquals(DType.F32, p.dtype(), method + ": a trainable master stays float32");
            }
            return result.lossHistory();
        }
    }
}
