package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.record.Record;

import java.io.Closeable;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
     * <p>Only use this when deciding in input order gives the same result as deciding for the earliest record of
     * each key (as exact dedup does); otherwise implement {@link Global}.
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

    /**
     * A step that decides only after it has seen every record's key, so that its result does not depend on the
     * order in which records arrive (near dedup by connected components). The pipeline computes {@link #key} on
     * all cores, shows every key to one {@link Pass} in input order ({@link Pass#observe}), then asks the pass
     * for each record's decision in the same order ({@link Pass#decide}), re-reading the records from a spool
     * file. Input order only names the earliest record of a group (the one to keep): the same input read by
     * another engine, in any partitioning, gets the same decisions.
     *
     * @param <K> what the pure part computes (a MinHash signature...)
     */
    interface Global<K> extends Step {
        /**
         * The pure part; may run on several threads at once.
         *
         * @param record the record
         * @return its key
         */
        K key(Record record);

        /**
         * Starts one run over a whole corpus.
         *
         * @param scratch a folder for the pass's temporary files (deleted by {@link Pass#close})
         * @return the pass, owned (and closed) by the caller
         * @throws IOException when a temporary file cannot be created
         */
        Pass<K> begin(Path scratch) throws IOException;

        /**
         * Always throws: a global step cannot decide about one record alone.
         *
         * @param record the record
         * @return never
         * @throws UnsupportedOperationException always
         */
        /**
         * Runs one pass over records held in memory (tests, benchmarks, small corpora), with a temporary scratch
         * folder.
         *
         * @param records the records, in input order
         * @return one outcome per record, in the same order
         * @throws IOException when the scratch folder or the pass's files fail
         */
        default List<Outcome> applyAll(List<Record> records) throws IOException {
            Path scratch = Files.createTempDirectory("finetune4j-" + name());
            try (Pass<K> pass = begin(scratch)) {
                for (Record r : records) {
                    pass.observe(key(r));
                }
                List<Outcome> out = new ArrayList<>(records.size());
                for (Record r : records) {
                    out.add(pass.decide(r));
                }
                return out;
            } finally {
                Files.deleteIfExists(scratch);
            }
        }

        @Override
        default Outcome apply(Record record) {
            throw new UnsupportedOperationException("step '" + name() + "' decides over the whole corpus: run it"
                    + " in a Pipeline (or finetune4j-spark's SparkPipeline), not record by record");
        }

        /**
         * One run of a global step: first every key, then every decision, both in input order. Not thread-safe.
         *
         * @param <K> the step's key type
         */
        interface Pass<K> extends Closeable {
            /**
             * Shows the pass the key of the next record.
             *
             * @param key the record's key from {@link Global#key}
             * @throws IOException when the pass's temporary storage fails
             */
            void observe(K key) throws IOException;

            /**
             * Decides about the next record, once every key was observed.
             *
             * @param record the record whose key was observed at the same position
             * @return what happens to it
             * @throws IOException when the pass's temporary storage fails
             */
            Outcome decide(Record record) throws IOException;
        }
    }
}
