package dev.finetune4j.core.distributed;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-JVM group's refusal of ranks that disagree. */
class LocalCollectiveTest {

    /**
     * Whichever rank arrives last runs the combine for all; with rank 0's buffer the longer one it used to read past
     * rank 1's end and throw IndexOutOfBoundsException there instead of the group's failure.
     */
    @Test
    void ranksPassingOtherSizesFailEveryRankWithWhatEachHad() throws Exception {
        List<Collective> group = LocalCollective.group(2, Duration.ofSeconds(20));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> ranks = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    try (TensorScope scope = TensorScope.open(); Collective member = group.get(rank)) {
                        int n = rank == 0 ? 5 : 4;
                        member.allReduceSum(List.of(Tensor.of(scope, new float[n], n)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : ranks) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> f.get(20, TimeUnit.SECONDS));
                assertInstanceOf(CollectiveException.class, e.getCause(), () -> "got " + e.getCause());
                String message = e.getCause().getMessage();
                assertTrue(message.contains("rank 0: allReduceSum of 20 bytes")
                        && message.contains("rank 1: allReduceSum of 16 bytes"), message);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
