package dev.finetune4j.spark;

import dev.finetune4j.data.pipeline.StepCounter;
import dev.finetune4j.data.record.Record;

import java.io.Serializable;

/**
 * What a partition of a stateless stage yields: a record that passed every step, or (once per partition, last)
 * the partition's step counters. Public only because Spark's encoders need public classes; not an API.
 *
 * @param order    the record's order key, or -1
 * @param record   the record, or {@code null}
 * @param counters the partition's counters, one per step, or {@code null}
 */
public record Flow(long order, Record record, StepCounter[] counters) implements Serializable {
}
