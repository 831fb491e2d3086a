package dev.finetune4j.benchmarks.distributed;

import dev.finetune4j.benchmarks.Median;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.distributed.SocketCollective;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How long the gradient sum of a data-parallel step takes on the CPU: {@code allReduceSum} of one float32 tensor
 * (default 40 M floats, 160 MB: LoRA r=16 on every projection of a 7B model) over ranks that are threads of this JVM,
 * through {@link LocalCollective} (host memory) and through {@link SocketCollective} over loopback TCP. Prints one
 * JSON line per transport and world size: the median seconds of the slowest rank per round, and the bus bandwidth
 * (2 (W - 1) / W bytes per rank, the ring's traffic).
 *
 * <pre>{@code java --enable-native-access=ALL-UNNAMED -cp ... CollectiveBenchmark [floats] [rounds] [ranks...]}</pre>
 */
public final class CollectiveBenchmark {
    private CollectiveBenchmark() {
    }

    /**
     * Runs the benchmark.
     *
     * @param args floats per tensor (default 40,000,000), rounds (default 5), then world sizes (default 2 4)
     */
    public static void main(String[] args) {
        int floats = args.length > 0 ? Integer.parseInt(args[0]) : 40_000_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int[] worlds = args.length > 2 ? java.util.Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {2, 4};
        for (int world : worlds) {
            report("local", world, floats, rounds, run(world, floats, rounds, group -> LocalCollective.runOnThreads(
                    world, Duration.ofMinutes(5), rank -> timeRounds(rank, floats, rounds))));
            int port = freePort();
            report("socket", world, floats, rounds, run(world, floats, rounds, group -> LocalCollective.runOnThreads(
                    world, Duration.ofMinutes(5), thread -> {
                        try (Collective rank = SocketCollective.connect(SocketCollective.Options.of(thread.rank(), world,
                                "127.0.0.1", port))) {
                            return timeRounds(rank, floats, rounds);
                        }
                    })));
        }
    }

    /** Each round's slowest rank, from every rank's round times. */
    private static double[] run(int world, int floats, int rounds, Function<Integer, List<double[]>> ranks) {
        List<double[]> perRank = ranks.apply(world);
        double[] slowest = new double[rounds];
        for (double[] times : perRank) {
            for (int r = 0; r < rounds; r++) {
                slowest[r] = Math.max(slowest[r], times[r]);
            }
        }
        return slowest;
    }

    /** One untimed sum, then {@code rounds} timed ones, each started together after a barrier. */
    private static double[] timeRounds(Collective rank, int floats, int rounds) {
        try (var scope = TensorScope.open()) {
            Tensor gradients = Tensor.zeros(Device.cpu(), Shape.of(floats));
            rank.allReduceSum(List.of(gradients));
            double[] seconds = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                rank.barrier();
                long start = System.nanoTime();
                rank.allReduceSum(List.of(gradients));
                seconds[r] = (System.nanoTime() - start) / 1e9;
            }
            return seconds;
        }
    }

    private static void report(String transport, int world, int floats, int rounds, double[] seconds) {
        double median = Median.of(seconds);
        double busBytes = 2.0 * (world - 1) / world * floats * Float.BYTES;
        System.out.printf(Locale.ROOT, "{\"transport\": \"%s\", \"ranks\": %d, \"bytes\": %d, \"rounds\": %d, "
                        + "\"median_s\": %.4f, \"bus_gb_per_s\": %.3f}%n", transport, world, (long) floats * Float.BYTES,
                rounds, median, busBytes / median / 1e9);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
