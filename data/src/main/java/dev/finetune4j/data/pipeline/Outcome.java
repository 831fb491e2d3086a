package dev.finetune4j.data.pipeline;

import dev.finetune4j.data.record.Record;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a step did with one record: kept it as it was, changed it, or dropped it (with a reason). A step may also
 * add records (augmentation); {@code tallies} count things found along the way (e.g. PII by type).
 *
 * @param kind    kept, changed or dropped
 * @param record  the record to pass on, or {@code null} when dropped
 * @param reason  why it was dropped or what changed, or {@code null}
 * @param added   records produced in addition to {@code record} (augmented copies), passed on after it
 * @param tallies counts to add to the step's report
 */
public record Outcome(Kind kind, Record record, String reason, List<Record> added, Map<String, Integer> tallies)
        implements Serializable {
    /** What happened to the record. */
    public enum Kind {
        /** Passed on unchanged. */
        KEPT,
        /** Passed on in changed form. */
        CHANGED,
        /** Stopped here, with a reason. */
        DROPPED
    }

    /** Checks that a kept or changed outcome has a record and a dropped one a reason, and copies the collections. */
    public Outcome {
        Objects.requireNonNull(kind, "kind");
        if (kind != Kind.DROPPED) {
            Objects.requireNonNull(record, "record");
        } else {
            Objects.requireNonNull(reason, "a dropped record needs a reason");
        }
        added = List.copyOf(added);
        tallies = Map.copyOf(tallies);
    }

    /**
     * The record passes unchanged.
     *
     * @param r the record
     * @return a KEPT outcome
     */
    public static Outcome keep(Record r) {
        return new Outcome(Kind.KEPT, r, null, List.of(), Map.of());
    }

    /**
     * The record passes in changed form; {@code what} names the change for the report.
     *
     * @param r the changed record
     * @param what the change, e.g. {@code cleaned}
     * @return a CHANGED outcome
     */
    public static Outcome change(Record r, String what) {
        return new Outcome(Kind.CHANGED, r, what, List.of(), Map.of());
    }

    /**
     * The record passes, changed when {@code after} is a different object than {@code before}.
     *
     * @param before the record the step received
     * @param after what the step made of it
     * @param what the change, when there is one
     * @return KEPT with {@code before} or CHANGED with {@code after}
     */
    public static Outcome keepOrChange(Record before, Record after, String what) {
        return before == after ? keep(before) : change(after, what);
    }

    /**
     * The record stops here.
     *
     * @param reason why, e.g. {@code exact duplicate}
     * @return a DROPPED outcome
     */
    public static Outcome drop(String reason) {
        return new Outcome(Kind.DROPPED, null, reason, List.of(), Map.of());
    }

    /**
     * This outcome with counts for the report.
     *
     * @param counts name to count, e.g. PII found by type
     * @return a new outcome; this one is unchanged
     */
    public Outcome withTallies(Map<String, Integer> counts) {
        return new Outcome(kind, record, reason, added, counts);
    }

    /**
     * This outcome with extra records after the kept one.
     *
     * @param extra the records to add, e.g. augmented copies
     * @return a new outcome; this one is unchanged
     */
    public Outcome withAdded(List<Record> extra) {
        return new Outcome(kind, record, reason, extra, tallies);
    }
}
