package dev.finetune4j.spark;

import dev.finetune4j.data.clean.TextCleaner;
import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Pipeline;
import dev.finetune4j.data.pipeline.PipelineSteps;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.split.SplitSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The step configuration of {@link PipelineSteps} means the same on both builders; Spark refuses what it cannot run. */
class SparkPipelineBuilderTest {
    private static final List<Step> STEPS = List.of(TextCleaner.defaults(), new ExactDedup(),
            new NearDedup(NearDedupConfig.defaults()));
    private static final SplitSpec SPLIT = SplitSpec.ratio(0.7, 0.2, 0.1).seed(9);

    /** One description of a preparation, for either engine. */
    private static <B extends PipelineSteps<B>> B describe(B b) {
        STEPS.forEach(b::step);
        return b.split(SPLIT).seed(21);
    }

    @Test
    void oneDescriptionConfiguresBothEnginesAlike() {
        Pipeline.Builder single = describe(Pipeline.builder());
        SparkPipeline.Builder spark = describe(SparkPipeline.builder(SharedSpark.get()));
        assertEquals(List.of(STEPS, SPLIT, 21L), List.of(single.steps(), single.split(), single.seed()));
        assertEquals(List.of(STEPS, SPLIT, 21L), List.of(spark.steps(), spark.split(), spark.seed()));
    }

    @Test
    void aStepSparkCannotRunIsRefusedByNameAndNotAdded() {
        Step custom = new Step() {
            @Override
            public String name() {
                return "custom";
            }

            @Override
            public Map<String, Object> params() {
                return Map.of();
            }

            @Override
            public Outcome apply(Record record) {
                return Outcome.keep(record);
            }
        };
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get()).step(TextCleaner.defaults());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> b.step(custom));
        assertTrue(e.getMessage().contains("'custom'") && e.getMessage().contains("stateless steps"), e.getMessage());
        assertEquals(1, b.steps().size());
    }

    @Test
    void tagModeNearDedupIsRefusedWhenAdded() {
        NearDedupConfig d = NearDedupConfig.defaults();
        NearDedup tagging = new NearDedup(new NearDedupConfig(d.numPerm(), d.bands(), d.rows(), d.threshold(),
                d.shingling(), d.wordN(), d.charN(), d.seed(), NearDedupConfig.Mode.TAG));
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> b.step(tagging));
        assertTrue(e.getMessage().contains("TAG") && e.getMessage().contains("Mode.DROP"), e.getMessage());
        assertEquals(0, b.steps().size());
    }

    /** Not Serializable. */
    private static final class Dictionary {
    }

    /** A stateless step holding a field that cannot be sent to executors. */
    private static final class DictionaryFilter implements Step.Stateless {
        private final Dictionary dictionary = new Dictionary();

        @Override
        public String name() {
            return "dictionary-filter";
        }

        @Override
        public Map<String, Object> params() {
            return Map.of("dictionary", dictionary.toString());
        }

        @Override
        public Outcome apply(Record record) {
            return Outcome.keep(record);
        }
    }

    @Test
    void aStepThatCannotBeSerializedIsRefusedNamingWhatItHolds() {
        SparkPipeline.Builder b = SparkPipeline.builder(SharedSpark.get());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.step(new DictionaryFilter()));
        assertTrue(e.getMessage().contains("'dictionary-filter'") && e.getMessage().contains(Dictionary.class.getName())
                && e.getMessage().contains("Serializable"), e.getMessage());
        assertEquals(0, b.steps().size());
    }
}
