package dev.finetune4j.spark;

import dev.finetune4j.data.dedup.NearDedup;
import dev.finetune4j.data.dedup.NearDedupConfig;
import dev.finetune4j.data.record.Record;
import dev.finetune4j.data.record.SourceRef;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A near-duplicate cluster of thousands of copies of one template must not put its band buckets or its pairs on one
 * task: with 16 shuffle partitions, no task of a near-dedup stage that carries the cluster reads more than a fifth
 * of that stage's shuffle records (a sixteenth would be even; the salted code's largest task reads about 9%). With
 * {@code SparkNearDedup.SALTS} set to 1 (no salting) this test fails: the task that joins the template's head with
 * its 1,999 members reads 32% of that join's records (the members plus both sides' signatures).
 */
class NearDedupSkewTest {
    private static final int COPIES = 2000;
    private static final int PARTITIONS = 16;
    private static final String TEMPLATE = "Hello, your order number %d has shipped today and will arrive within"
            + " three to five business days. You can follow the package with the tracking link in your account"
            + " page. If the package is late, damaged or missing, reply to this message and our support team will"
            + " help you with a replacement or a refund. Thank you for shopping with our store.";

    @Test
    void noTaskReadsMostOfAStageOfTheTemplateCluster() throws Exception {
        // NOTE: a session of its own (same context, own settings): enough partitions to spread over, no coalescing,
        // which would merge these small partitions into one task whatever the keys, and no broadcast joins, which
        // a corpus too big to broadcast would not get either
        SparkSession spark = SharedSpark.get().newSession();
        spark.conf().set("spark.sql.shuffle.partitions", String.valueOf(PARTITIONS));
        spark.conf().set("spark.sql.adaptive.coalescePartitions.enabled", "false");
        spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "-1");
        SplittableRandom rnd = new SplittableRandom(3);
        List<Tuple2<Long, Record>> records = new ArrayList<>();
        for (long i = 0; i < COPIES; i++) {
            String text = String.format(TEMPLATE, 100_000 + rnd.nextInt(900_000));
            records.add(new Tuple2<>(i, Record.of(new SourceRef("t.jsonl", i + 1), Map.of("text", text))));
        }
        Dataset<Tuple2<Long, Record>> in = spark.createDataset(records, Tracked.ENCODER);
        SparkContext context = spark.sparkContext();
        LargestTask tasks = new LargestTask();
        context.addSparkListener(tasks);
        SparkNearDedup.Result result;
        try (Persisted persisted = new Persisted()) {
            result = SparkNearDedup.apply(in, COPIES, new NearDedup(NearDedupConfig.defaults()), 4_000_000, persisted);
            assertEquals(COPIES - 1, result.report().dropped(), "all copies but the first are near duplicates");
        } finally {
            context.listenerBus().waitUntilEmpty();
            context.removeSparkListener(tasks);
        }
        double share = tasks.largestShare(COPIES);
        assertTrue(share > 0, "no stage of several tasks read the cluster's " + COPIES + " records");
        assertTrue(share <= 0.2, "one task read too much of a stage: " + tasks.mostSkewed(COPIES));
    }
}
