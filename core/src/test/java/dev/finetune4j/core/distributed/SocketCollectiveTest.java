package dev.finetune4j.core.distributed;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Ranks of a {@link SocketCollective} as threads of this JVM, connected over loopback. */
class SocketCollectiveTest {
    private static final Duration PATIENT = Duration.ofSeconds(20);
    private static final Duration SHORT = Duration.ofMillis(500);
    private static final String TOKEN = "job-token";

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceSumMatchesAnIndependentSumAndIsBitIdenticalOnEveryRank(int worldSize) {
        // one element, a size no world size divides, an empty tensor between others, one over several chunks
        int[] sizes = {1, 13, 0, 4099};
        List<float[][]> sums = succeed(runRanks(worldSize, (rank, port) -> options(rank, worldSize, port),
                (rank, group, scope) -> allReduced(group, scope, sizes, rank)));
        checkSums(sums, sizes, worldSize);
    }

    @Test
    void aMultiMegabyteBufferIsSummedPieceByPiece() {
        int[] sizes = {1_500_001}; // 6 MB: each of the three chunks spans two 1 MiB pieces
        List<float[][]> sums = succeed(runRanks(3, (rank, port) -> options(rank, 3, port),
                (rank, group, scope) -> allReduced(group, scope, sizes, rank)));
        checkSums(sums, sizes, 3);
    }

    @Test
    void broadcastGivesEveryRankTheRootsFloatsAndLongsFromEachRoot() {
        int worldSize = 3;
        int big = 700_001; // 2.8 MB: several pieces pass each rank on their way around the ring
        List<List<Object>> received = succeed(runRanks(worldSize, (rank, port) -> options(rank, worldSize, port),
                (rank, group, scope) -> {
                    List<Object> out = new ArrayList<>();
                    for (int root = 0; root < worldSize; root++) {
                        Tensor floats = Tensor.of(scope, values(rank, 5), 5);
                        Tensor longs = Tensor.ofLongs(Device.cpu(), longs(rank, 3), Shape.of(3));
                        Tensor large = Tensor.of(scope, values(rank + 10, big), big);
                        group.broadcast(List.of(floats, longs, large), root);
                        out.add(floats.toFloatArray());
                        out.add(longs.toLongArray());
                        out.add(large.toFloatArray());
                    }
                    return out;
                }));
        for (int rank = 0; rank < worldSize; rank++) {
            for (int root = 0; root < worldSize; root++) {
                List<Object> got = received.get(rank);
                String where = "rank " + rank + ", root " + root;
                assertArrayEquals(values(root, 5), (float[]) got.get(3 * root), where);
                assertArrayEquals(longs(root, 3), (long[]) got.get(3 * root + 1), where);
                assertArrayEquals(values(root + 10, big), (float[]) got.get(3 * root + 2), where);
            }
        }
    }

    @Test
    void aWorldOfOneNeedsNoNetworkAndFailsOnceClosed() {
        SocketCollective.Options alone = new SocketCollective.Options(0, 1, "no-such-host.invalid", 0, SHORT, SHORT,
                "");
        try (TensorScope scope = TensorScope.open()) {
            SocketCollective group = SocketCollective.connect(alone);
            Tensor t = Tensor.of(scope, new float[]{1.5f, -2}, 2);
            group.allReduceSum(List.of(t));
            group.broadcast(List.of(t), 0);
            group.barrier();
            assertArrayEquals(new float[]{1.5f, -2}, t.toFloatArray());
            group.close();
            CollectiveException e = assertThrows(CollectiveException.class, group::barrier);
            assertTrue(e.getMessage().contains("rank 0 was closed"), e.getMessage());
        }
    }

    @Test
    void aRankWithAnotherTokenIsRefusedAndRankZeroSaysWhyItWaitedInVain() {
        List<Outcome<Void>> outcomes = runRanks(2, (rank, port) -> rank == 0
                ? options(0, 2, port).withTimeouts(Duration.ofMillis(1500), SHORT)
                : options(1, 2, port).withToken("another-token"), (rank, group, scope) -> null);
        assertFailed(outcomes.get(1), "refused rank 1", "did not prove the job token", "FINETUNE4J_DIST_TOKEN");
        assertFailed(outcomes.get(0), "for ranks [1] to join", "it refused", "did not prove the job token");
    }

    @Test
    void twoProcessesClaimingOneRankFailEveryRankWithTheReason() {
        List<Outcome<Void>> outcomes = runRanks(3, (index, port) -> options(Math.min(index, 1), 3, port),
                (rank, group, scope) -> null);
        for (Outcome<Void> o : outcomes) {
            assertFailed(o, "two processes claim rank 1", "give each process its own RANK");
        }
    }

    @Test
    void aRankOfAnotherWorldSizeFailsBothSidesWithTheReason() {
        List<Outcome<Void>> outcomes = runRanks(2, (rank, port) -> rank == 0 ? options(0, 2, port)
                : options(1, 3, port), (rank, group, scope) -> null);
        for (Outcome<Void> o : outcomes) {
            assertFailed(o, "rank 1", "was started with a world of 3 ranks, rank 0 with 2", "same WORLD_SIZE");
        }
    }

    @Test
    void aStrayConnectionIsRefusedAndTheJobGoesOn() throws Exception {
        CompletableFuture<Integer> port = new CompletableFuture<>();
        // as long as a hello, so rank 0 reads all of it and its refusal is not lost to a reset
        byte[] garbage = Arrays.copyOf("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                Rendezvous.HELLO_BYTES);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Socket stray = new Socket()) {
            Future<Void> rank0 = pool.submit(() -> joinAndBarrier(options(0, 2, 0), port::complete));
            stray.connect(new InetSocketAddress("127.0.0.1", port.get(20, TimeUnit.SECONDS)));
            stray.getOutputStream().write(garbage);
            Future<Void> rank1 = pool.submit(() -> joinAndBarrier(options(1, 2, port.get()), p -> { }));
            rank0.get(20, TimeUnit.SECONDS);
            rank1.get(20, TimeUnit.SECONDS);
            // rank 0 challenged the stray, told it why it was refused, and hung up
            String answer = new String(stray.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.contains("does not speak finetune4j's protocol"), answer);
        } finally {
            pool.shutdownNow();
        }
    }

    /** What a process that is not an honest rank 0 of this job answers at the rendezvous port. */
    enum FakeRankZero {
        ANOTHER_PROTOCOL("is not a finetune4j rank (its answer began with 0x5353482d)") {
            @Override
            ByteBuffer answer() {
                return ByteBuffer.wrap("SSH-2.0-OpenSSH_9.6 Ubuntu-3ubuntu13\r\n".getBytes(StandardCharsets.US_ASCII));
            }
        },
        HUGE_REFUSAL("refused rank 1 with a reason of 1073741824 bytes (at most 4096)") {
            @Override
            ByteBuffer answer() {
                return challenge().putInt(Wire.Status.REFUSED.code).putInt(1 << 30).flip();
            }
        },
        UNPROVEN_WELCOME("welcomed rank 1 without proving the job token") {
            @Override
            ByteBuffer answer() {
                // a welcome naming a successor, with a proof of zeros
                return challenge().putInt(Wire.Status.WELCOME.code).put(new byte[Wire.NONCE_BYTES]).putInt(4)
                        .put(new byte[]{127, 0, 0, 1}).put(new byte[12]).putInt(9).put(new byte[Wire.PROOF_BYTES])
                        .flip();
            }
        };

        final String message;

        FakeRankZero(String message) {
            this.message = message;
        }

        abstract ByteBuffer answer();

        static ByteBuffer challenge() {
            return ByteBuffer.allocate(200).putInt(Wire.MAGIC).putInt(Wire.VERSION).put(new byte[Wire.NONCE_BYTES]);
        }
    }

    @ParameterizedTest
    @EnumSource(FakeRankZero.class)
    void aRankTrustsNothingAFakeRankZeroClaims(FakeRankZero fake) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread answering = Thread.ofPlatform().start(() -> {
                try (Socket s = server.accept()) {
                    ByteBuffer answer = fake.answer();
                    s.getOutputStream().write(answer.array(), 0, answer.limit());
                    s.getInputStream().readAllBytes(); // until the rank hangs up
                } catch (IOException e) {
                    // the rank hung up first
                }
            });
            CollectiveException e = assertThrows(CollectiveException.class, () -> SocketCollective.connect(
                    options(1, 2, server.getLocalPort()).withTimeouts(Duration.ofSeconds(5), SHORT)));
            assertTrue(e.getMessage().contains(fake.message), e.getMessage());
            answering.join(5_000);
        }
    }

    @Test
    void ranksPassingOtherSizesFailEveryRankWithWhatEachHad() {
        List<Outcome<Void>> outcomes = runRanks(3, (rank, port) -> options(rank, 3, port), (rank, group, scope) -> {
            group.allReduceSum(List.of(Tensor.of(scope, values(rank, rank == 1 ? 5 : 4), rank == 1 ? 5 : 4)));
            return null;
        });
        for (Outcome<Void> o : outcomes) {
            assertFailed(o, "the ranks called different operations", "rank 0: allReduceSum of 16 bytes",
                    "rank 1: allReduceSum of 20 bytes", "rank 2: allReduceSum of 16 bytes");
        }
    }

    @Test
    void aRankThatClosesMidRunMakesTheOthersFailWithALostConnection() {
        List<Outcome<Void>> outcomes = runRanks(3, (rank, port) -> options(rank, 3, port), (rank, group, scope) -> {
            group.barrier();
            if (rank != 2) {
                group.allReduceSum(List.of(Tensor.of(scope, values(rank, 4), 4)));
            }
            return null; // rank 2 closes here
        });
        assertEquals(null, outcomes.get(2).failure());
        // the operation timeout is 20 s: a message about waiting would mean the ranks did not notice the close
        assertFailed(outcomes.get(0), "lost its connection to rank 2", "restart every rank");
        assertFailed(outcomes.get(1), "lost its connection to rank");
    }

    @Test
    void aRankThatNeverArrivesMakesTheOthersFailAtTheOperationTimeout() {
        CountDownLatch othersDone = new CountDownLatch(2);
        List<Outcome<Void>> outcomes = runRanks(3, (rank, port) -> options(rank, 3, port).withTimeouts(PATIENT, SHORT),
                (rank, group, scope) -> {
                    if (rank == 2) {
                        othersDone.await(20, TimeUnit.SECONDS);
                        return null;
                    }
                    try {
                        group.barrier();
                    } finally {
                        othersDone.countDown();
                    }
                    return null;
                });
        assertFailed(outcomes.get(0), "rank 0 waited PT0.5S at barrier for rank 2 to send data");
        assertInstanceOf(CollectiveException.class, outcomes.get(1).failure());
    }

    @Test
    void anInterruptDoesNotEndAnOperationAndIsSetAgainAfterIt() {
        CountDownLatch interrupted = new CountDownLatch(1);
        List<Outcome<Boolean>> outcomes = runRanks(2, (rank, port) -> options(rank, 2, port), (rank, group, scope) -> {
            if (rank == 1) { // joins rank 0's barrier only after rank 0 was interrupted in it
                interrupted.await(20, TimeUnit.SECONDS);
                group.barrier();
                return true;
            }
            Thread self = Thread.currentThread();
            Thread.ofPlatform().start(() -> {
                sleepQuietly(200);
                self.interrupt();
                interrupted.countDown();
            });
            group.barrier();
            return Thread.interrupted();
        });
        assertEquals(true, outcomes.get(0).value(), "rank 0's barrier completed with the interrupt flag set again");
        assertEquals(true, outcomes.get(1).value());
    }

    @Test
    void closingFromAnotherThreadEndsAnOperationInProgress() {
        CountDownLatch waiting = new CountDownLatch(1);
        List<Outcome<Void>> outcomes = runRanks(2, (rank, port) -> options(rank, 2, port), (rank, group, scope) -> {
            if (rank == 1) {
                waiting.await(20, TimeUnit.SECONDS);
                return null;
            }
            Thread.ofPlatform().start(() -> {
                sleepQuietly(200);
                group.close();
            });
            try {
                group.barrier();
            } finally {
                waiting.countDown();
            }
            return null;
        });
        assertFailed(outcomes.get(0), "rank 0 was closed");
    }

    @Test
    void anInterruptedRendezvousFailsAndKeepsTheInterrupt() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Thread> waiting = new CompletableFuture<>();
            Future<String> rank0 = pool.submit(() -> {
                try {
                    SocketCollective.connect(options(0, 2, 0), port -> waiting.complete(Thread.currentThread()))
                            .close();
                    return "joined";
                } catch (CollectiveException e) {
                    return e.getMessage() + " / interrupted: " + Thread.interrupted();
                }
            });
            Thread rank0Thread = waiting.get(20, TimeUnit.SECONDS);
            sleepQuietly(100);
            rank0Thread.interrupt();
            String outcome = rank0.get(20, TimeUnit.SECONDS);
            assertTrue(outcome.contains("interrupted while the ranks connected")
                    && outcome.endsWith("interrupted: true"), outcome);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rankZeroAloneFailsAtTheConnectTimeoutNamingTheMissingRanks() {
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> SocketCollective.connect(options(0, 3, 0).withTimeouts(SHORT, SHORT)));
        assertTrue(e.getMessage().contains("rank 0 waited PT0.5S at port 0 for ranks [1, 2] to join"), e.getMessage());
    }

    @Test
    void aRankWithoutRankZeroFailsAtTheConnectTimeout() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> SocketCollective.connect(options(1, 2, closedPort).withTimeouts(SHORT, SHORT)));
        assertTrue(e.getMessage().contains("rank 1 could not reach rank 0 at 127.0.0.1:" + closedPort + " within "
                + "PT0.5S"), e.getMessage());
    }

    @Test
    void aRankInAnotherJvmJoinsThroughItsEnvironmentAndGetsTheSameBits() throws Exception {
        int n = 1001;
        CompletableFuture<Integer> port = new CompletableFuture<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Process other = null;
        try {
            Future<float[]> rank0 = pool.submit(() -> runRank(0, options(0, 2, 0), port::complete,
                    (rank, group, scope) -> allReduced(group, scope, new int[]{n}, 0)[0]));
            ProcessBuilder launch = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                    "-cp", System.getProperty("java.class.path"), SocketRankProcess.class.getName(), "" + n)
                    .redirectErrorStream(true);
            launch.environment().putAll(Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1",
                    "MASTER_PORT", "" + port.get(20, TimeUnit.SECONDS), "FINETUNE4J_DIST_TOKEN", TOKEN,
                    "FINETUNE4J_DIST_TIMEOUT", "20"));
            other = launch.start();
            String output = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(other.waitFor(20, TimeUnit.SECONDS) && other.exitValue() == 0, output);
            float[] sums = rank0.get(20, TimeUnit.SECONDS);
            // rank 0's values (seed 0) plus rank 1's (seed 100: allReduced seeds rank * 100): two floats add in
            // either order to the same float
            float[] a = values(0, n);
            float[] b = values(100, n);
            StringJoiner expected = new StringJoiner(",", "SUMS ", "");
            for (int i = 0; i < n; i++) {
                assertEquals(a[i] + b[i], sums[i], "element " + i);
                expected.add(Integer.toHexString(Float.floatToRawIntBits(sums[i])));
            }
            assertTrue(output.lines().anyMatch(expected.toString()::equals), output);
        } finally {
            if (other != null) {
                other.destroyForcibly();
            }
            pool.shutdownNow();
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static SocketCollective.Options options(int rank, int worldSize, int port) {
        return new SocketCollective.Options(rank, worldSize, "127.0.0.1", port, PATIENT, PATIENT, TOKEN);
    }

    /** Rank {@code rank}'s tensors of the given sizes, summed with the other ranks'. */
    private static float[][] allReduced(Collective group, TensorScope scope, int[] sizes, int rank) {
        List<Tensor> tensors = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            tensors.add(Tensor.of(scope, values(rank * 100 + i, sizes[i]), sizes[i]));
        }
        group.allReduceSum(tensors);
        float[][] out = new float[sizes.length][];
        for (int i = 0; i < sizes.length; i++) {
            out[i] = tensors.get(i).toFloatArray();
        }
        return out;
    }

    /**
     * Every rank's sums are the same bits, and each is within float32 rounding of the sum in double: a sum of
     * {@code n} floats added one by one is off by at most {@code (n - 1) * 2^-24} of the sum of their magnitudes.
     */
    private static void checkSums(List<float[][]> sums, int[] sizes, int worldSize) {
        for (int i = 0; i < sizes.length; i++) {
            double[] exact = new double[sizes[i]];
            double[] magnitude = new double[sizes[i]];
            for (int rank = 0; rank < worldSize; rank++) {
                float[] v = values(rank * 100 + i, sizes[i]);
                for (int j = 0; j < v.length; j++) {
                    exact[j] += v[j];
                    magnitude[j] += Math.abs(v[j]);
                }
            }
            float[] first = sums.getFirst()[i];
            assertEquals(sizes[i], first.length);
            for (int j = 0; j < first.length; j++) {
                double bound = (worldSize - 1) * Math.scalb(magnitude[j], -24);
                if (Math.abs(first[j] - exact[j]) > bound) {
                    fail("tensor " + i + "[" + j + "] is " + first[j] + ", the exact sum " + exact[j] + " (bound "
                            + bound + ")");
                }
            }
            for (int rank = 1; rank < worldSize; rank++) {
                float[] other = sums.get(rank)[i];
                for (int j = 0; j < first.length; j++) {
                    if (Float.floatToRawIntBits(other[j]) != Float.floatToRawIntBits(first[j])) {
                        fail("rank " + rank + " has " + other[j] + " at tensor " + i + "[" + j + "], rank 0 "
                                + first[j]);
                    }
                }
            }
        }
    }

    /** Seeded values of mixed magnitudes, so sums round. */
    static float[] values(int seed, int n) {
        Random random = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = Math.scalb(random.nextFloat() - 0.5f, random.nextInt(-8, 8));
        }
        return v;
    }

    private static long[] longs(int seed, int n) {
        return new Random(seed).longs(n).toArray();
    }

    private static Void joinAndBarrier(SocketCollective.Options options, IntConsumer onListening) {
        try (SocketCollective group = SocketCollective.connect(options, onListening)) {
            group.barrier();
        }
        return null;
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertFailed(Outcome<?> outcome, String... parts) {
        Throwable failure = outcome.failure();
        assertInstanceOf(CollectiveException.class, failure, "expected a CollectiveException, got " + failure);
        for (String part : parts) {
            assertTrue(failure.getMessage().contains(part), "'" + part + "' is not in: " + failure.getMessage());
        }
    }

    private static <T> List<T> succeed(List<Outcome<T>> outcomes) {
        List<T> values = new ArrayList<>();
        for (Outcome<T> o : outcomes) {
            if (o.failure() != null) {
                throw new AssertionError("a rank failed", o.failure());
            }
            values.add(o.value());
        }
        return values;
    }

    /** What one rank does once it has joined; its group closes when it returns or throws. */
    private interface RankWork<T> {
        T run(int rank, Collective group, TensorScope scope) throws Exception;
    }

    /** Each rank's options, given the port rank 0 listens at (0 for rank 0 itself: it chooses one). */
    private interface RankOptions {
        SocketCollective.Options of(int index, int port);
    }

    /** What a rank returned, or what it threw. */
    private record Outcome<T>(T value, Throwable failure) {
    }

    /** Runs rank 0 and then the others, each on its own thread; waits for all and returns each one's outcome. */
    private static <T> List<Outcome<T>> runRanks(int worldSize, RankOptions options, RankWork<T> work) {
        ExecutorService pool = Executors.newFixedThreadPool(worldSize);
        try {
            CompletableFuture<Integer> port = new CompletableFuture<>();
            List<Future<T>> ranks = new ArrayList<>();
            ranks.add(pool.submit(() -> runRank(0, options.of(0, 0), port::complete, work)));
            for (int r = 1; r < worldSize; r++) {
                int index = r;
                ranks.add(pool.submit(() -> runRank(index, options.of(index, port.get(20, TimeUnit.SECONDS)),
                        p -> { }, work)));
            }
            List<Outcome<T>> outcomes = new ArrayList<>();
            for (Future<T> f : ranks) {
                try {
                    outcomes.add(new Outcome<>(f.get(30, TimeUnit.SECONDS), null));
                } catch (ExecutionException e) {
                    outcomes.add(new Outcome<>(null, e.getCause()));
                }
            }
            return outcomes;
        } catch (Exception e) {
            throw new AssertionError("the ranks did not finish", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T runRank(int index, SocketCollective.Options options, IntConsumer onListening,
                                 RankWork<T> work) throws Exception {
        try (TensorScope scope = TensorScope.open();
             SocketCollective group = SocketCollective.connect(options, onListening)) {
            return work.run(index, group, scope);
        }
    }
}
