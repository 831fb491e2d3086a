package dev.finetune4j.spark;

import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.CollectiveException;
import dev.finetune4j.core.distributed.SocketCollective;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.collection.Iterator;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Runs a data-parallel job on a Spark cluster's executors, one rank per task of a barrier stage, as PySpark's
 * {@code TorchDistributor} does for torch: Spark starts every task at once (or none), the tasks meet through a
 * {@link SocketCollective} at rank 0's executor, and each runs the job with its member of the group. A job typically
 * loads the model on its executor (from a path every executor reads), builds its trainer with
 * {@code .collective(rank)} and trains; on GPU executors it may sum on the GPUs instead, with
 * {@code NcclCollective.create(device, rank)}.
 *
 * <pre>{@code
 * List<Double> losses = SparkDistributor.run(spark, 4, Duration.ofMinutes(30), rank -> {
 *     // made here, on the executor: what the job captures travels by Java serialization
 *     TrainingConfig cfg = TrainingConfig.builder().epochs(2).microBatchSize(4).learningRate(2e-4).build();
 *     TokenizedDataset data = readTrainingSet(Path.of("/mnt/data/train.jsonl"));   // your reader
 *     try (LanguageModel base = AutoModel.loadCausalLM(Path.of("/mnt/models/qwen"))) {
 *         PeftModel model = Peft.wrap(base, LoraConfig.builder().r(16).build());
 *         TrainResult r = SftTrainer.builder().model(model).config(cfg).trainData(data).collective(rank)
 *                 .build().train();
 *         if (rank.rank() == 0) {
 *             model.save(Path.of("/mnt/runs/support/adapter"));
 *         }
 *         return r.finalLoss();
 *     }
 * });
 * }</pre>
 *
 * <p>The stage needs {@code ranks} free task slots at once (barrier scheduling; without dynamic allocation), and the
 * executors must reach each other on any port. A job that fails fails its stage: Spark stops the other tasks and
 * retries the whole stage as {@code spark.task.maxFailures} allows (every rank starts again), then fails
 * {@link #run} with the task's exception. The job, its captured values and its result travel by Java serialization.
 */
public final class SparkDistributor {
    private SparkDistributor() {
    }

    /**
     * What each rank runs, on its executor.
     *
     * @param <R> its result, sent back to the driver
     */
    @FunctionalInterface
    public interface RankJob<R extends Serializable> extends Serializable {
        /**
         * Runs this rank's part.
         *
         * @param rank this task's member of the group (closed when the job returns)
         * @return the rank's result
         * @throws Exception when the rank fails, which fails the stage
         */
        R run(Collective rank) throws Exception;
    }

    /**
     * Runs {@code job} on {@code ranks} tasks of one barrier stage and returns their results in rank order.
     *
     * @param spark   the session whose cluster runs the tasks
     * @param ranks   the number of ranks, each one task
     * @param timeout how long the ranks wait for each other, to join and within an operation
     * @param job     what each rank does
     * @param <R>     a rank's result
     * @return each rank's result, in rank order
     * @throws IllegalArgumentException when {@code ranks} or {@code timeout} is out of range, before any job runs
     */
    public static <R extends Serializable> List<R> run(SparkSession spark, int ranks, Duration timeout, RankJob<R> job) {
        if (ranks < 1 || ranks > SocketCollective.Options.MAX_WORLD_SIZE) {
            throw new IllegalArgumentException("ranks must be from 1 to " + SocketCollective.Options.MAX_WORLD_SIZE
                    + ", not " + ranks);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, not " + timeout);
        }
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        Ranks<R> tasks = new Ranks<>(ranks, timeout, HexFormat.of().formatHex(secret), job);
        List<byte[]> results = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(IntStream.range(0, ranks).boxed().toList(), ranks).rdd().barrier()
                .mapPartitions(tasks, false, ClassTag$.MODULE$.apply(byte[].class)).toJavaRDD().collect();
        List<R> out = new ArrayList<>();
        for (byte[] result : results) {
            out.add(Ranks.<R>deserialized(result));
        }
        return out;
    }

    /**
     * The stage's tasks: each joins the group at rank 0's executor and runs the job; {@code token} is the job's secret,
     * made on the driver, which every rank proves to join.
     *
     * @param <R> a rank's result
     */
    private static final class Ranks<R extends Serializable> extends AbstractFunction1<Iterator<Integer>, Iterator<byte[]>>
            implements Serializable {
        private final int ranks;
        private final Duration timeout;
        private final String token;
        private final RankJob<R> job;

        Ranks(int ranks, Duration timeout, String token, RankJob<R> job) {
            this.ranks = ranks;
            this.timeout = timeout;
            this.token = token;
            this.job = job;
        }

        /** One task of the barrier stage: its one result. */
        @Override
        public Iterator<byte[]> apply(Iterator<Integer> partition) {
            return CollectionConverters.asScala(List.of(runRank()).iterator());
        }

        /** This task's rank: the port rank 0 listens at goes to every task through the barrier's all-gather. */
        private byte[] runRank() {
            BarrierTaskContext task = BarrierTaskContext.get();
            int rank = task.partitionId();
            String rankZero = task.getTaskInfos()[0].address();
            String host = rankZero.contains(":") ? rankZero.substring(0, rankZero.lastIndexOf(':')) : rankZero;
            int port = Integer.parseInt(task.allGather(rank == 0 ? Integer.toString(freePort()) : "")[0]);
            SocketCollective.Options options = new SocketCollective.Options(rank, ranks, host, port, timeout, timeout,
                    token);
            try (SocketCollective member = SocketCollective.connect(options)) {
                return serialized(job.run(member));
            } catch (CollectiveException | IllegalArgumentException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("rank " + rank + " of " + ranks + " failed: " + e.getMessage(), e);
            }
        }

        private static int freePort() {
            try (ServerSocket socket = new ServerSocket(0)) {
                return socket.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException("rank 0 found no free port for the other ranks to join at", e);
            }
        }

        private static byte[] serialized(Serializable result) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(result);
            }
            return bytes.toByteArray();
        }

        @SuppressWarnings("unchecked")
        private static <R> R deserialized(byte[] bytes) {
            // NOTE: the bytes are a result this job's own tasks serialized, not input from outside
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
                return (R) in.readObject();
            } catch (IOException | ClassNotFoundException e) {
                throw new IllegalStateException("a rank's result could not be read on the driver: " + e, e);
            }
        }
    }
}
