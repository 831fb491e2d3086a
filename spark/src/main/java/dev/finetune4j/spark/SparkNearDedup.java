package dev.finetune4j.spark;

import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.pipeline.StepReport;
import dev.finetune4j.data.record.Record;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import scala.Tuple2;
import scala.Tuple3;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.xxhash64;

/**
 * {@link NearDedup} on Spark, with the single-machine step's semantics (see its Javadoc) and its own signature,
 * band-key and similarity functions:
 *
 * <ol>
 *   <li>signatures and band keys per record;</li>
 *   <li>per band bucket, the earliest member ({@code min} order key, aggregated map-side) and the bucket size;
 *       buckets of one record are dropped here, so only duplicates reach the joins;</li>
 *   <li>candidate pairs (bucket head, member): a bucket of k records gives k - 1 pairs, streamed through a join,
 *       so a cluster of 100,000 copies of a template never becomes 5 billion pairs; members are salted by a hash
 *       of their order key into {@value #SALTS} groups, so a big bucket's pairs are made by many tasks;</li>
 *   <li>the pairs' signatures joined back (the head's per salt, so one head's pairs are spread too) and the pairs
 *       filtered by {@link NearDedup#similar};</li>
 *   <li>connected components (on the driver when there are at most {@code maxDriverEdges} edges, else with
 *       {@link ConnectedComponents}); every record that is not its component's smallest order key is dropped.</li>
 * </ol>
 */
final class SparkNearDedup {
    private SparkNearDedup() {
    }

    /** How many tasks share the pairs of one big bucket (and of one head). */
    static final int SALTS = 64;

    record Result(Dataset<Tuple2<Long, Record>> records, StepReport report) {
    }

    static Result apply(Dataset<Tuple2<Long, Record>> in, long total, NearDedup step, long maxDriverEdges,
                        Persisted persisted) {
        Dataset<Row> signatures = persisted.keep(in.map((MapFunction<Tuple2<Long, Record>, Tuple2<Long, byte[]>>)
                        t -> new Tuple2<>(t._1(), bytes(step.key(t._2()))),
                Encoders.tuple(Encoders.LONG(), Encoders.BINARY())).toDF("order", "sig")
                .where(col("sig").isNotNull()));
        Dataset<Row> bands = signatures.flatMap((FlatMapFunction<Row, Tuple3<Integer, Long, Long>>) row -> {
            long[] keys = step.bandKeys(ints(row.getAs("sig")));
            long order = row.getAs("order");
            List<Tuple3<Integer, Long, Long>> out = new ArrayList<>(keys.length);
            for (int b = 0; b < keys.length; b++) {
                out.add(new Tuple3<>(b, keys[b], order));
            }
            return out.iterator();
        }, Encoders.tuple(Encoders.INT(), Encoders.LONG(), Encoders.LONG())).toDF("band", "key", "order");
        // NOTE: a bucket's members are salted by a hash of their order key, so that a bucket of 100,000 copies
        // is joined with its head by SALTS tasks, not one; the head is found per (bucket, salt) and then per bucket,
        // so a bucket of k records has at most min(k, SALTS) salted head rows (no replication of small buckets).
        Dataset<Row> salted = bands.withColumn("salt", salt(col("order")));
        Dataset<Row> perSalt = salted.groupBy("band", "key", "salt").agg(min("order").as("smin"),
                count(lit(1)).as("sn"));
        Dataset<Row> perBucket = perSalt.groupBy("band", "key").agg(min("smin").as("head"), sum("sn").as("n"))
                .where(col("n").gt(1));
        Dataset<Row> heads = perSalt.join(perBucket, new String[] {"band", "key"})
                .select(col("band").as("hband"), col("key").as("hkey"), col("salt").as("hsalt"), col("head"));
        Dataset<Row> pairs = salted.join(heads, col("band").equalTo(col("hband")).and(col("key").equalTo(col("hkey")))
                        .and(col("salt").equalTo(col("hsalt"))))
                .where(col("order").notEqual(col("head"))).select(col("head"), col("order").as("member")).distinct()
                .withColumn("psalt", salt(col("member")));
        // NOTE: the same for the head's signature: each (head, salt) of the pairs gets its own copy of it
        Dataset<Row> headSigs = pairs.select(col("head").as("h"), col("psalt").as("hsalt")).distinct()
                .join(signatures, col("h").equalTo(col("order"))).select(col("h"), col("hsalt"), col("sig").as("hsig"));
        Dataset<Row> memberSigs = signatures.select(col("order").as("m"), col("sig").as("msig"));
        Dataset<Row> edges = pairs.join(headSigs, col("head").equalTo(col("h")).and(col("psalt").equalTo(col("hsalt"))))
                .join(memberSigs, col("member").equalTo(col("m")))
                .filter((FilterFunction<Row>) r -> step.similar(ints(r.getAs("hsig")), ints(r.getAs("msig"))))
                .select(col("head").as("a"), col("member").as("b"));
        Dataset<Row> dropped = components(persisted.keep(edges), maxDriverEdges);
        Dataset<Tuple2<Long, Record>> kept = persisted.keep(in.join(dropped,
                in.col(Tracked.ORDER).equalTo(col("node")), "left_anti").as(Tracked.ENCODER));
        return new Result(kept, Reports.dropping(step, total, kept.count(), "near duplicate"));
    }

    /**
     * The non-root nodes of the components with their roots: on the driver when the edges are few (one job; the
     * edges of near duplicates are usually far fewer than the records), else with {@link ConnectedComponents}.
     */
    private static Dataset<Row> components(Dataset<Row> edges, long maxDriverEdges) {
        if (edges.count() > maxDriverEdges) {
            return ConnectedComponents.toSmallest(edges);
        }
        LongMinUnionFind sets = new LongMinUnionFind();
        for (Row r : edges.collectAsList()) {
            sets.union(r.getLong(0), r.getLong(1));
        }
        List<Tuple2<Long, Long>> rows = sets.nonRoots();
        return edges.sparkSession().createDataset(rows, Encoders.tuple(Encoders.LONG(), Encoders.LONG()))
                .toDF("node", "root");
    }

    private static Column salt(Column order) {
        return pmod(xxhash64(order), lit(SALTS));
    }

    private static byte[] bytes(int[] sig) {
        if (sig == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(4 * sig.length);
        b.asIntBuffer().put(sig);
        return b.array();
    }

    private static int[] ints(byte[] bytes) {
        int[] sig = new int[bytes.length / 4];
        ByteBuffer.wrap(bytes).asIntBuffer().get(sig);
        return sig;
    }
}
