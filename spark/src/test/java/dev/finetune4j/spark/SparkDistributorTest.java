package dev.finetune4j.spark;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ranks as the tasks of a barrier stage on the tests' local Spark: they meet, sum, and fail together. */
class SparkDistributorTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    /** What a rank saw: its place and the group's sum of every rank's values. */
    private record Seen(int rank, int worldSize, float[] sums) implements Serializable {
    }

    @Test
    void theTasksMeetAsOneGroupAndSumTheirValues() {
        List<Seen> seen = SparkDistributor.run(SharedSpark.get(), 2, TIMEOUT, rank -> {
            try (var scope = TensorScope.open()) {
                float own = rank.rank() + 1;
                Tensor values = Tensor.of(Device.cpu(), scope, new float[] {own, 10 * own}, Shape.of(2));
                rank.allReduceSum(List.of(values));
                return new Seen(rank.rank(), rank.worldSize(), values.toFloatArray());
            }
        });
        assertEquals(2, seen.size());
        for (int r = 0; r < 2; r++) {
            assertEquals(r, seen.get(r).rank(), "results in rank order");
            assertEquals(2, seen.get(r).worldSize());
            assertArrayEquals(new float[] {3, 30}, seen.get(r).sums());
        }
    }

    @Test
    void aFailingRankFailsTheRunWithItsMessage() {
        SparkException e = assertThrows(SparkException.class, () -> SparkDistributor.run(SharedSpark.get(), 2, TIMEOUT,
                rank -> {
                    if (rank.rank() == 1) {
                        throw new IllegalStateException("rank 1's data is missing");
                    }
                    rank.barrier();
                    return rank.rank();
                }));
        // Spark reports the first task to fail: rank 1 itself, or rank 0 that lost its connection to rank 1
        assertTrue(e.getMessage().contains("rank 1's data is missing")
                || e.getMessage().contains("lost its connection to rank 1"), e.getMessage());
    }

    @Test
    void impossibleGroupsAreRefusedBeforeAnyJob() {
        IllegalArgumentException none = SharedSpark.refusedBeforeAnyJob(IllegalArgumentException.class,
                () -> SparkDistributor.run(SharedSpark.get(), 0, TIMEOUT, rank -> rank.rank()));
        assertTrue(none.getMessage().contains("ranks must be from 1"), none.getMessage());
        IllegalArgumentException noTime = SharedSpark.refusedBeforeAnyJob(IllegalArgumentException.class,
                () -> SparkDistributor.run(SharedSpark.get(), 2, Duration.ZERO, rank -> rank.rank()));
        assertTrue(noTime.getMessage().contains("timeout must be positive"), noTime.getMessage());
    }
}
