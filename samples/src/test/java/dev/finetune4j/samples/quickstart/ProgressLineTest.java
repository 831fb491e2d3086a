package dev.finetune4j.samples.quickstart;

import dev.finetune4j.peft.train.EvalMetrics;
import dev.finetune4j.core.backend.MemoryStats;
import dev.finetune4j.peft.train.StepMetrics;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each validation loss is printed with the step it belongs to, and only an improvement is marked. */
class ProgressLineTest {

    @Test
    void evaluationsAreShownWithTheirOwnStepAndOnlyImprovementsAreMarked() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressLine line = new ProgressLine("sft", new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        line.onTrainBegin(0, 2, 1);
        // the loop's order: a step, then the evaluation that follows it
        line.onStep(step(1));
        line.onEvaluation(new EvalMetrics(1, 1.5, Math.exp(1.5), true, Map.of()));
        line.onStep(step(2));
        line.onEvaluation(new EvalMetrics(2, 1.7, Math.exp(1.7), false, Map.of()));
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(4, lines.size(), lines.toString());
        assertEquals("  sft      step    1  validation loss 1.5000  (best so far)", lines.get(1));
        assertEquals("  sft      step    2  validation loss 1.7000", lines.get(3));
        assertEquals(-1, lines.get(2).indexOf("1.5000"), "the step line does not carry the previous evaluation: " + lines.get(2));
    }

    /** An ETA of hours, as a real model on the CPU shows, read 939:12 (minutes, or hours and minutes?). */
    @Test
    void aClockOfAnHourOrMoreShowsTheHours() {
        assertEquals("0:00", ProgressLine.clock(Duration.ofSeconds(-3)));
        assertEquals("59:59", ProgressLine.clock(Duration.ofSeconds(3599)));
        assertEquals("1:00:00", ProgressLine.clock(Duration.ofHours(1)));
        assertEquals("15:39:12", ProgressLine.clock(Duration.ofSeconds(939 * 60 + 12)));
    }

    private static StepMetrics step(int step) {
        return new StepMetrics(step, 2, step, 2.0, 1e-3, 0.5, 100, Duration.ZERO, false, Map.of(), new MemoryStats(0, 0));
    }
}
