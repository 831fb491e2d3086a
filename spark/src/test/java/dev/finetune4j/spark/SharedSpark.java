package dev.finetune4j.spark;

import org.apache.spark.sql.SparkSession;

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
}
