package dev.finetune4j.spark;

import dev.finetune4j.data.dedup.ExactDedup;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.data.record.Record;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import scala.Tuple2;
import scala.Tuple3;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.min;

/**
 * {@link ExactDedup} on Spark: the earliest record (smallest order key) of each normalized-text hash survives,
 * which is the record the single-machine step keeps by deciding in input order. The minimum is aggregated
 * map-side first, so a text repeated a million times costs one row per partition in the shuffle.
 */
final class SparkExactDedup {
    private SparkExactDedup() {
    }

    record Result(Dataset<Tuple2<Long, Record>> records, StepReport report) {
    }

    static Result apply(Dataset<Tuple2<Long, Record>> in, long total, ExactDedup step, Persisted persisted) {
        Dataset<Row> hashes = in.map((MapFunction<Tuple2<Long, Record>, Tuple3<Long, Long, Long>>) t -> {
            long[] h = ExactDedup.hash(t._2().text());
            return new Tuple3<>(t._1(), h[0], h[1]);
        }, Encoders.tuple(Encoders.LONG(), Encoders.LONG(), Encoders.LONG())).toDF("order", "hi", "lo");
        Dataset<Row> earliest = hashes.groupBy("hi", "lo").agg(min("order").as("first"));
        Dataset<Tuple2<Long, Record>> kept = persisted.keep(in.join(earliest,
                in.col(Tracked.ORDER).equalTo(col("first")), "left_semi").as(Tracked.ENCODER));
        return new Result(kept, Reports.dropping(step, total, kept.count(), "exact duplicate"));
    }
}
