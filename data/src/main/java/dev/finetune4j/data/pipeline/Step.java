package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.record.Record;

import java.io.Serializable;
import java.util.Map;

/**
 * One stage of a pipeline: a plain, serializable function from a record to an {@link Outcome}, so that the same
 * step runs inside this module's {@link Pipeline}, Apache Spark or Beam.
 *
 * <p>A step that keeps no state between records should also implement {@link Stateless}: the pipeline then
 * applies it to a batch of records on all cores. A step with state (dedup) implements {@link Keyed} so that its
 * expensive, stateless part runs on all cores and only the cheap decision is sequential.
 */
public interface Step extends Serializable {
    /**
     * A short name for reports, e.g. {@code clean}, {@code near-dedup}.
     *
     * @return the step's name
     */
    String name();

    /**
     * The step's parameters, as written in the provenance manifest.
     *
     * @return parameter names to values (JSON-like: strings, numbers, booleans)
     */
    Map<String, Object> params();

    /**
     * Decides about one record. Calls come in input order.
     *
     * @param record the record to decide about
     * @return whether the record is kept, changed or dropped, and what it adds
     */
    Outcome apply(Record record);

    /** Marks a step whose {@link #apply} keeps no state and is safe to call from several threads at once. */
    interface Stateless extends Step {
    }

    /**
     * A step with state whose per-record work splits into a pure, parallel part ({@link #key}) and a sequential
     * decision ({@link #decide}), called in input order.
     *
     * @param <K> what the pure part computes (a hash, a MinHash signature...)
     */
    interface Keyed<K> extends Step {
        /**
         * The pure part; may run on several threads at once.
         *
         * @param record the record to compute the key of
         * @return the key, passed to {@link #decide} with the same record
         */
        K key(Record record);

        /**
         * The decision, given the key of the same record.
         *
         * @param record the record to decide about
         * @param key what {@link #key} computed for it
         * @return whether the record is kept, changed or dropped, and what it adds
         */
        Outcome decide(Record record, K key);

        @Override
        default Outcome apply(Record record) {
            return decide(record, key(record));
        }
    }
}
