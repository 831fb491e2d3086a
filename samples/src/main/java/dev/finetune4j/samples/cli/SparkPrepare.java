package dev.finetune4j.samples.cli;

import dev.finetune4j.data.format.Format;
import dev.finetune4j.data.pipeline.PipelineReport;
import dev.finetune4j.spark.SparkInput;
import dev.finetune4j.spark.SparkPipeline;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.List;

/**
 * Runs a prepare {@link PreparePipeline.Plan} on Apache Spark (finetune4j-spark): the same records, splits and
 * counts as the single-machine run. Spark is not in finetune4j.jar; it comes from {@code spark-submit} or from
 * {@code $SPARK_HOME/jars} on the class path.
 */
final class SparkPrepare {
    private SparkPrepare() {
    }

    /** How to start the CLI with Spark on the class path, for error messages. */
    static final String HOW_TO_LAUNCH = "spark-submit --class dev.finetune4j.samples.cli.Finetune4j finetune4j.jar"
            + " prepare ..., or java -cp \"finetune4j.jar:$SPARK_HOME/jars/*\" dev.finetune4j.samples.cli.Finetune4j"
            + " prepare ...";

    /** Whether Spark's classes can be loaded. */
    static boolean available() {
        try {
            Class.forName("org.apache.spark.sql.SparkSession", false, SparkPrepare.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * The plan's inputs for Spark, in order: Parquet files read by Spark, the others by data's readers; the
     * config's schema applies to both.
     */
    static List<SparkInput> inputs(PreparePipeline.Plan plan) {
        return plan.inputs().stream().map(i -> switch (i) {
            case PreparePipeline.Input.Local local -> SparkInput.of(local.source());
            case PreparePipeline.Input.Parquet parquet -> {
                SparkInput in = SparkInput.parquet(parquet.path().toAbsolutePath());
                yield parquet.schema() == null ? in : in.schema(parquet.schema());
            }
        }).toList();
    }

    static PipelineReport run(PreparePipeline.Plan plan, String master) throws IOException {
        if (plan.format() != null && plan.format() != Format.JSONL) {
            throw new BadInputException("'format' is " + plan.format() + "; the Spark engine writes JSONL only"
                    + " (remove 'format' or run without --spark-master)");
        }
        SparkSession spark = SparkSession.builder().master(master).appName("finetune4j prepare").getOrCreate();
        try {
            SparkPipeline.Builder b = SparkPipeline.builder(spark).write(plan.output().toAbsolutePath().toString());
            inputs(plan).forEach(b::read);
            try {
                plan.configure(b);
            } catch (UnsupportedOperationException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            return b.run();
        } finally {
            spark.stop();
        }
    }
}
