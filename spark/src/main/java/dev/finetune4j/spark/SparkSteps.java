package dev.finetune4j.spark;

import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.pipeline.Step;

import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * The steps a Spark run can execute, checked when a step is added to the builder: a step it could not run would
 * otherwise fail mid-run, after inputs were read and part of the output folder was replaced.
 */
final class SparkSteps {
    private SparkSteps() {
    }

    /**
     * Checks that Spark can run {@code step}: a stateless step, {@link ExactDedup} or {@link NearDedup} in drop mode,
     * which can be sent to the executors.
     *
     * @throws UnsupportedOperationException for a kind of step Spark does not run
     * @throws IllegalArgumentException      for a step that cannot be serialized
     */
    static void requireSupported(Step step) {
        if (!(step instanceof Step.Stateless || step instanceof ExactDedup || step instanceof NearDedup)) {
            throw new UnsupportedOperationException("step '" + step.name() + "' (" + step.getClass().getName()
                    + ") cannot run on Spark: only stateless steps, ExactDedup and NearDedup are supported");
        }
        if (step instanceof NearDedup near && near.config().mode() != NearDedupConfig.Mode.DROP) {
            throw new UnsupportedOperationException("near-dedup mode " + near.config().mode() + " is not supported"
                    + " on Spark yet; use Mode.DROP (the default), or tag with the single-machine Pipeline");
        }
        // NOTE: ExactDedup never leaves the driver (tasks call its static hash), and its table may be large
        if (!(step instanceof ExactDedup)) {
            requireSerializable(step);
        }
    }

    /** Serializes the step as Spark will, so that a field that cannot travel is named now, not in a failed job. */
    private static void requireSerializable(Step step) {
        try (ObjectOutputStream out = new ObjectOutputStream(OutputStream.nullOutputStream())) {
            out.writeObject(step);
        } catch (NotSerializableException e) {
            throw new IllegalArgumentException("step '" + step.name() + "' (" + step.getClass().getName()
                    + ") cannot be sent to Spark's executors: it holds a " + e.getMessage() + ", which is not"
                    + " Serializable; make that class Serializable, or the field transient and rebuilt on first use",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("serializing step '" + step.name() + "': " + e.getMessage(), e);
        }
    }
}
