package dev.finetune4j.spark;

import dev.finetune4j.data.format.BadLine;
import dev.finetune4j.data.pipeline.InputReport;
import dev.finetune4j.data.record.Record;

import java.io.Serializable;

/**
 * What reading an input yields, one of: a record with its order key, a quarantined line, or (last) the input's
 * report with its hash and counts. Public only because Spark's encoders need public classes; not an API.
 *
 * @param input  the input's index among the run's inputs
 * @param order  the record's order key ({@link OrderKeys}), or -1
 * @param record the record, or {@code null}
 * @param bad    the quarantined line, or {@code null}
 * @param report the input's report, or {@code null}
 */
public record ReadItem(int input, long order, Record record, BadLine bad, InputReport report) implements Serializable {
    static ReadItem of(int input, long order, Record record) {
        return new ReadItem(input, order, record, null, null);
    }

    static ReadItem bad(int input, BadLine bad) {
        return new ReadItem(input, -1, null, bad, null);
    }

    static ReadItem report(int input, InputReport report) {
        return new ReadItem(input, -1, null, null, report);
    }
}
