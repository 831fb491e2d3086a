package dev.finetune4j.peft.train;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingConfigTest {

    @Test
    void messagesNameTheSettingAndTheFix() {
        assertMessage(() -> TrainingConfig.builder().learningRate(0).build(), "learningRate");
        assertMessage(() -> TrainingConfig.builder().adamBetas(0.9, 1.0).build(), "adamBeta2");
        assertMessage(() -> TrainingConfig.builder().microBatchSize(0).build(), "microBatchSize");
        assertMessage(() -> TrainingConfig.builder().saveEverySteps(10).build(), "outputDir");
        assertMessage(() -> TrainingConfig.builder().earlyStopping(2, 0).build(), "evalEverySteps");
        assertMessage(() -> TrainingConfig.builder().warmupRatio(1.5).build(), "warmupRatio");
        assertMessage(() -> TrainingConfig.builder().schedule(null).build(), "CONSTANT");
        assertMessage(() -> new DpoConfig(0.1, DpoLossType.IPO, 0.1), "SIGMOID");
    }

    @Test
    void infiniteValuesAndAStepCountPastTheIntRangeAreRefused() {
        assertMessage(() -> TrainingConfig.builder().adamEpsilon(Double.POSITIVE_INFINITY).build(), "adamEpsilon");
        assertMessage(() -> TrainingConfig.builder().evalEverySteps(1).earlyStopping(1, Double.POSITIVE_INFINITY).build(),
                "earlyStoppingThreshold");
        // 2^31 - 1 epochs of 2 steps: 4,294,967,294 steps
        TrainingConfig many = TrainingConfig.builder().epochs(Integer.MAX_VALUE).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> many.totalSteps(2));
        assertTrue(e.getMessage().contains("4294967294") && e.getMessage().contains("epochs"), e.getMessage());
        assertEquals(Integer.MAX_VALUE, many.totalSteps(1));
    }

    @Test
    void stepsAndWarmUp() {
        TrainingConfig byEpochs = TrainingConfig.builder().epochs(3).warmupRatio(0.1).build();
        assertEquals(30, byEpochs.totalSteps(10));
        assertEquals(3, byEpochs.warmupStepsFor(30));
        TrainingConfig bySteps = byEpochs.toBuilder().maxSteps(7).warmupSteps(2).outputDir(Path.of("x")).build();
        assertEquals(7, bySteps.totalSteps(10));
        assertEquals(2, bySteps.warmupStepsFor(7));
    }

    @Test
    void schedulesFollowHuggingFace() {
        // get_linear_schedule_with_warmup(warmup=2, total=10) and the cosine one, as lr multipliers
        double[] linear = {0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125};
        Optimization lin = optimization(Schedule.LINEAR);
        Optimization cos = optimization(Schedule.COSINE);
        Optimization con = optimization(Schedule.CONSTANT);
        for (int s = 0; s < 10; s++) {
            assertEquals(linear[s], lin.learningRate(s), 1e-12, "linear step " + s);
            double expectedCos = s < 2 ? s / 2.0 : 0.5 * (1 + Math.cos(Math.PI * (s - 2) / 8.0));
            assertEquals(expectedCos, cos.learningRate(s), 1e-12, "cosine step " + s);
            assertEquals(s < 2 ? s / 2.0 : 1.0, con.learningRate(s), 1e-12, "constant step " + s);
        }
    }

    private static Optimization optimization(Schedule schedule) {
        return new Optimization(Map.of(), TrainingConfig.builder().learningRate(1).schedule(schedule).warmupSteps(2).build(), 10);
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable build, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
