package dev.finetune4j.spark;

import dev.finetune4j.data.record.Record;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import scala.Tuple2;

/**
 * The Dataset shape of records in a run: {@code (order key, record)}, columns {@code _1} (a long, for joins and
 * aggregations) and {@code _2} (the record's bytes, {@link BinaryEncoders#RECORD}).
 */
final class Tracked {
    /** The encoder of {@code Dataset<Tuple2<Long, Record>>}. */
    static final Encoder<Tuple2<Long, Record>> ENCODER =
            Encoders.tuple(Encoders.LONG(), BinaryEncoders.RECORD);
    /** The order-key column. */
    static final String ORDER = "_1";

    private Tracked() {
    }
}
