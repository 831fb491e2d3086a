package dev.finetune4j.spark;

import dev.finetune4j.data.pipeline.Outcome;
import dev.finetune4j.data.pipeline.Step;
import dev.finetune4j.data.pipeline.StepCounter;
import dev.finetune4j.data.record.Record;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import scala.Tuple2;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Consecutive stateless steps (cleaning, quality filters, PII) applied in one pass over each partition, with the
 * same {@link Step} objects the single-machine pipeline uses. Each partition also emits its step counters as
 * data, after its records, so that the counts come from the same computation as the records (no accumulators,
 * which a retried task would count twice).
 */
final class StatelessStage {
    private StatelessStage() {
    }

    /** The records that pass, and the steps' merged counters. */
    record Result(Dataset<Tuple2<Long, Record>> records, List<StepCounter> counters) {
    }

    static Result apply(Dataset<Tuple2<Long, Record>> in, List<Step> steps, Persisted persisted) {
        List<Step> chain = List.copyOf(steps);
        Dataset<Flow> flows = persisted.keep(in.mapPartitions((MapPartitionsFunction<Tuple2<Long, Record>, Flow>)
                it -> new Flows(it, chain), BinaryEncoders.FLOW));
        List<StepCounter> merged = chain.stream().map(StepCounter::new).toList();
        for (Flow f : flows.filter((FilterFunction<Flow>) f -> f.counters() != null).collectAsList()) {
            for (int i = 0; i < merged.size(); i++) {
                merged.get(i).merge(f.counters()[i]);
            }
        }
        Dataset<Tuple2<Long, Record>> out = flows.filter((FilterFunction<Flow>) f -> f.record() != null)
                .map((MapFunction<Flow, Tuple2<Long, Record>>) f -> new Tuple2<>(f.order(), f.record()),
                        Tracked.ENCODER);
        return new Result(out, merged);
    }

    /** Runs one partition's records through the chain, then yields the counters. */
    private static final class Flows implements Iterator<Flow> {
        private final Iterator<Tuple2<Long, Record>> in;
        private final List<Step> steps;
        private final StepCounter[] counters;
        private final Deque<Flow> ready = new ArrayDeque<>();
        private boolean countersSent;

        Flows(Iterator<Tuple2<Long, Record>> in, List<Step> steps) {
            this.in = in;
            this.steps = steps;
            this.counters = steps.stream().map(StepCounter::new).toArray(StepCounter[]::new);
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && in.hasNext()) {
                Tuple2<Long, Record> t = in.next();
                Record r = through(t._2());
                if (r != null) {
                    ready.add(new Flow(t._1(), r, null));
                }
            }
            if (ready.isEmpty() && !countersSent) {
                countersSent = true;
                ready.add(new Flow(-1, null, counters));
            }
            return !ready.isEmpty();
        }

        @Override
        public Flow next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private Record through(Record record) {
            Record current = record;
            for (int s = 0; s < steps.size() && current != null; s++) {
                Outcome o = steps.get(s).apply(current);
                counters[s].count(o);
                if (!o.added().isEmpty()) {
                    throw new UnsupportedOperationException("step '" + steps.get(s).name() + "' adds records"
                            + " (augmentation), which the Spark pipeline does not support: added records have no"
                            + " place in input order; augment the prepared output with the single-machine Pipeline");
                }
                current = o.record();
            }
            return current;
        }
    }
}
