package dev.finetune4j.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.function.Executable;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The one local Spark session of this module's tests (starting one costs seconds): two cores, no UI, few shuffle
 * partitions for small inputs. Spark stops it at JVM exit.
 */
final class SharedSpark {
    private static SparkSession session;

    private SharedSpark() {
    }

    static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("finetune4j-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .getOrCreate();
        }
        return session;
    }

    /**
     * Asserts that {@code run} throws {@code type} before it starts a single Spark job (a mistake in the
     * configuration must not cost a cluster's time first).
     *
     * @return the exception
     */
    static <T extends Throwable> T refusedBeforeAnyJob(Class<T> type, Executable run) {
        SparkContext sc = get().sparkContext();
        String group = "refused-" + UUID.randomUUID();
        sc.setJobGroup(group, group, false);
        T e;
        try {
            e = assertThrows(type, run);
        } finally {
            sc.clearJobGroup();
        }
        assertEquals(0, sc.statusTracker().getJobIdsForGroup(group).length, "jobs ran before the refusal: " + e);
        return e;
    }
}
