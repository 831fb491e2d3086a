package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PipelineStepsTest {
    @Test
    void stepsSplitAndSeedAreKeptAsConfigured() {
        TextCleaner clean = TextCleaner.defaults();
        ExactDedup exact = new ExactDedup();
        SplitSpec split = SplitSpec.ratio(0.8, 0.1, 0.1).seed(7);
        Pipeline.Builder b = Pipeline.builder();
        assertNull(b.split());
        assertEquals(0, b.seed());
        assertSame(b, b.step(clean).step(exact).split(split));
        assertEquals(List.of(clean, exact), b.steps());
        assertSame(split, b.split());
        assertEquals(7, b.seed(), "the split's seed is the run's seed");
        assertEquals(3, b.seed(3).seed(), "unless a seed is set after it");
        assertEquals(11, b.seed(5).split(split.seed(11)).seed(), "the last call wins");
        assertThrows(UnsupportedOperationException.class, () -> b.steps().add(clean));
    }
}
