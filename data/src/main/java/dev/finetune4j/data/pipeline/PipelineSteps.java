package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.split.SplitSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The part of a pipeline's configuration that every engine reads the same way: the steps in order, the split and
 * the seed. {@link Pipeline.Builder} and finetune4j-spark's {@code SparkPipeline.Builder} extend it, so that a
 * preparation is described once with the same calls and means the same on both; each engine adds its own inputs,
 * output and tuning (batch size, partitions...).
 *
 * @param <B> the engine's builder, returned by every setter so that calls chain
 */
public abstract class PipelineSteps<B extends PipelineSteps<B>> {
    final List<Step> steps = new ArrayList<>();
    SplitSpec split;
    long seed;

    /** For an engine's builder. */
    protected PipelineSteps() {
    }

    /**
     * This builder, as the engine's type.
     *
     * @return {@code this}
     */
    protected abstract B self();

    /**
     * Appends a step.
     *
     * @param step the step, applied after the steps added before it
     * @return this builder
     */
    public B step(Step step) {
        steps.add(step);
        return self();
    }

    /**
     * Splits the output; the split's seed is also the pipeline's seed unless {@link #seed(long)} is called after.
     *
     * @param spec the ratio or k-fold split
     * @return this builder
     */
    public B split(SplitSpec spec) {
        this.split = spec;
        this.seed = spec.seed();
        return self();
    }

    /**
     * The seed recorded in the manifest (steps carry their own seeds in their parameters).
     *
     * @param s the seed
     * @return this builder
     */
    public B seed(long s) {
        this.seed = s;
        return self();
    }

    /**
     * The steps added so far, in order.
     *
     * @return an unmodifiable view
     */
    public List<Step> steps() {
        return Collections.unmodifiableList(steps);
    }

    /**
     * The split.
     *
     * @return the split, or {@code null} when the output is not split
     */
    public SplitSpec split() {
        return split;
    }

    /**
     * The seed recorded in the manifest.
     *
     * @return the seed: the last one given to {@link #seed(long)} or {@link #split(SplitSpec)}, 0 when neither was
     *     called
     */
    public long seed() {
        return seed;
    }
}
