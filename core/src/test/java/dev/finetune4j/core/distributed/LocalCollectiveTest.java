package dev.finetune4j.core.distributed;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-JVM collective: sums in rank order, broadcasts, and every way a group can fail. */
class LocalCollectiveTest {
    private static final Duration LONG = Duration.ofMinutes(1);

    @Test
    void allReduceSumAddsInRankOrderAndEveryRankGetsTheSameBits() {
        int world = 3;
        int[] sizes = {1, 0, 1000, 7};
        float[][][] inputs = new float[world][sizes.length][];
        SplittableRandom random = new SplittableRandom(5);
        for (int r = 0; r < world; r++) {
            for (int t = 0; t < sizes.length; t++) {
                inputs[r][t] = new float[sizes[t]];
                for (int i = 0; i < sizes[t]; i++) {
                    inputs[r][t][i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
                }
            }
        }
        List<float[][]> sums = LocalCollective.runOnThreads(world, LONG, rank -> {
            try (var scope = TensorScope.open()) {
                List<Tensor> tensors = new ArrayList<>();
                for (float[] values : inputs[rank.rank()]) {
                    tensors.add(Tensor.of(Device.cpu(), scope, values, Shape.of(values.length)));
                }
                rank.allReduceSum(tensors);
                return tensors.stream().map(Tensor::toFloatArray).toArray(float[][]::new);
            }
        });
        for (int t = 0; t < sizes.length; t++) {
            float[] expected = new float[sizes[t]];
            for (int i = 0; i < sizes[t]; i++) {
                expected[i] = (inputs[0][t][i] + inputs[1][t][i]) + inputs[2][t][i];
            }
            for (int r = 0; r < world; r++) {
                assertArrayEquals(expected, sums.get(r)[t], "tensor " + t + " on rank " + r);
            }
        }
    }

    @Test
    void broadcastGivesEveryRankTheRootsValuesOfAnyDtype() {
        List<Object[]> received = LocalCollective.runOnThreads(3, LONG, rank -> {
            try (var scope = TensorScope.open()) {
                Tensor floats = Tensor.of(Device.cpu(), scope, new float[] {rank.rank(), -rank.rank()}, Shape.of(2));
                Tensor longs = Tensor.ofLongs(Device.cpu(), new long[] {Long.MAX_VALUE - rank.rank()}, Shape.of(1));
                rank.broadcast(List.of(floats, longs), 2);
                return new Object[] {floats.toFloatArray(), longs.toLongArray()};
            }
        });
        for (Object[] r : received) {
            assertArrayEquals(new float[] {2, -2}, (float[]) r[0]);
            assertArrayEquals(new long[] {Long.MAX_VALUE - 2}, (long[]) r[1]);
        }
    }

    @Test
    void ranksWithOtherSizesFailTogetherSayingWhatEachHad() {
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(2, LONG,
                rank -> {
                    try (var scope = TensorScope.open()) {
                        rank.allReduceSum(List.of(Tensor.zeros(Device.cpu(), Shape.of(2 + rank.rank()))));
                        return null;
                    }
                }));
        assertEquals(1, e.getSuppressed().length, "both ranks fail");
        assertTrue(e.getMessage().contains("rank 0: allReduceSum of 8 bytes; rank 1: allReduceSum of 12 bytes"),
                e.getMessage());
    }

    @Test
    void aRankThatLeavesMakesTheWaitingRanksFailWithoutTheirTimeout() {
        IllegalStateException boom = new IllegalStateException("rank 1 broke");
        CollectiveException e = assertThrows(CollectiveException.class, () -> LocalCollective.runOnThreads(3, LONG,
                rank -> {
                    if (rank.rank() == 1) {
                        throw boom;
                    }
                    rank.barrier();
                    return null;
                }));
        assertSame(boom, e.getCause(), "the original failure is the cause");
        assertEquals(2, e.getSuppressed().length);
        for (Throwable other : e.getSuppressed()) {
            assertTrue(other.getMessage().contains("rank 1 left the group"), other.getMessage());
        }
    }

    @Test
    void aRankThatNeverArrivesFailsTheOthersAtTheTimeout() {
        List<Collective> group = LocalCollective.group(2, Duration.ofMillis(200));
        CollectiveException e = assertThrows(CollectiveException.class, () -> group.getFirst().barrier());
        assertTrue(e.getMessage().contains("rank 0 waited PT0.2S at barrier of 0 bytes for ranks [1]"), e.getMessage());
        assertThrows(CollectiveException.class, () -> group.get(1).barrier(), "the failed group stays failed");
    }

    @Test
    void aRankLeavingAfterTheLastOperationDoesNotFailThatOperation() {
        List<String> done = LocalCollective.runOnThreads(4, LONG, rank -> {
            rank.barrier();
            return "rank " + rank.rank(); // runOnThreads closes each member as soon as its task returns
        });
        assertEquals(List.of("rank 0", "rank 1", "rank 2", "rank 3"), done);
    }

    @Test
    void anInterruptDoesNotEndTheWaitAndIsSetAgainAfterTheOperation() throws Exception {
        List<Collective> group = LocalCollective.group(2, LONG);
        CountDownLatch waiting = new CountDownLatch(1);
        boolean[] interruptedAfter = new boolean[1];
        Thread first = Thread.ofPlatform().start(() -> {
            waiting.countDown();
            group.getFirst().barrier();
            interruptedAfter[0] = Thread.currentThread().isInterrupted();
        });
        waiting.await();
        first.interrupt();
        group.get(1).barrier(); // completes the first rank's barrier although it was interrupted while waiting
        first.join();
        assertTrue(interruptedAfter[0]);
    }

    @Test
    void inputsThatCannotBeExchangedAreRefusedBeforeAnyRankWaits() {
        Collective rank = LocalCollective.group(2, LONG).getFirst();
        try (var scope = TensorScope.open()) {
            Tensor longs = Tensor.ofLongs(Device.cpu(), new long[] {1}, Shape.of(1));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> rank.allReduceSum(List.of(longs)))
                    .getMessage().contains("sums float32 tensors"));
            Tensor matrix = Tensor.zeros(Device.cpu(), Shape.of(2, 3));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> rank.allReduceSum(List.of(matrix.transpose(0, 1)))).getMessage().contains("non-contiguous"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> rank.broadcast(List.of(matrix), 2))
                    .getMessage().contains("root 2 is not a rank of this group of 2"));
        }
        assertInstanceOf(IllegalArgumentException.class,
                assertThrows(IllegalArgumentException.class, () -> LocalCollective.group(0, LONG)));
    }

    @Test
    void aGroupOfOneLeavesItsTensorsAsTheyAre() {
        try (var scope = TensorScope.open()) {
            Tensor t = Tensor.of(Device.cpu(), scope, new float[] {1.5f, -2}, Shape.of(2));
            Collective.single().allReduceSum(List.of(t));
            Collective.single().broadcast(List.of(t), 0);
            Collective.single().barrier();
            assertArrayEquals(new float[] {1.5f, -2}, t.toFloatArray());
            assertEquals(1, Collective.single().worldSize());
        }
    }
}
