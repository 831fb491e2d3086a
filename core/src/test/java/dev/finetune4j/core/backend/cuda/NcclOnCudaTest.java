package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.CollectiveException;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link NcclCollective} with the real NCCL on GPUs; skipped, with the reason, without a GPU or without NCCL
 * ({@code pip install nvidia-nccl-cu13}). One GPU runs one rank (NCCL refuses two ranks on one GPU, which is checked
 * too); two GPUs sum and broadcast across two ranks, threads of this JVM.
 */
class NcclOnCudaTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    /** {@code cuda:index}, skipping the test without it or without NCCL. */
    private static Device requireGpuWithNccl(int index) {
        Device gpu = CudaTestDevices.require("cuda:" + index);
        Optional<String> why = NcclCollective.unavailableReason();
        assumeTrue(why.isEmpty(), () -> "NCCL cannot run here: " + why.orElse(""));
        return gpu;
    }

    @Test
    void aGroupOfOneLeavesSumsUnchangedAndBroadcastsBytesOfEveryDtype() {
        Device gpu = requireGpuWithNccl(0);
        float[] values = {1.5f, -2.25f, 3e-8f, 1e30f, -0f, Float.MIN_VALUE};
        float[] ramp = new float[100_003];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = i * 0.001f - 7;
        }
        int[] ints = {7, -1, Integer.MAX_VALUE, 0, 42};
        try (TensorScope scope = TensorScope.detached(gpu);
             NcclCollective ranks = NcclCollective.create(gpu, LocalCollective.group(1, TIMEOUT).getFirst(), TIMEOUT)) {
            Tensor small = Tensor.of(gpu, scope, values, Shape.of(2, 3));
            Tensor large = Tensor.of(gpu, scope, ramp, Shape.of(ramp.length));
            ranks.allReduceSum(List.of(small, large));
            assertArrayEquals(bits(values), bits(small.toFloatArray()));
            assertArrayEquals(bits(ramp), bits(large.toFloatArray()));

            Tensor intTensor = Tensor.zeros(scope, gpu, DType.I32, Shape.of(ints.length));
            gpu.backend().copyFromHost(MemorySegment.ofArray(ints), intTensor);
            Tensor halves = Tensor.of(gpu, scope, new float[]{0.5f, -3f, 1024f}, Shape.of(3)).convertTo(DType.BF16, scope);
            ranks.broadcast(List.of(intTensor, halves), 0);
            int[] back = new int[ints.length];
            gpu.backend().copyToHost(intTensor, MemorySegment.ofArray(back));
            assertArrayEquals(ints, back);
            assertArrayEquals(new float[]{0.5f, -3f, 1024f}, halves.toFloatArray());
            ranks.barrier();
        }
    }

    @Test
    void twoRanksOnOneGpuAreRefusedWithTheCallAndNcclsError() throws Exception {
        Device gpu = requireGpuWithNccl(0);
        List<Collective> bootstrap = LocalCollective.group(2, TIMEOUT);
        List<Object> outcomes = onThreads(2, rank -> () -> {
            try (NcclCollective ignored = NcclCollective.create(gpu, bootstrap.get(rank), TIMEOUT)) {
                return "joined";
            } catch (CollectiveException e) {
                return e;
            }
        });
        for (Object outcome : outcomes) {
            CollectiveException e = assertInstanceOf(CollectiveException.class, outcome);
            assertTrue(e.getMessage().contains("ncclCommInitRank") && e.getMessage().contains("failed: nccl"),
                    e.getMessage());
        }
    }

    @Test
    void twoRanksOnTwoGpusSumAndBroadcastAcrossThem() throws Exception {
        requireGpuWithNccl(0);
        requireGpuWithNccl(1);
        List<Collective> bootstrap = LocalCollective.group(2, TIMEOUT);
        List<Object> outcomes = onThreads(2, rank -> () -> {
            Device gpu = Device.cuda(rank);
            try (TensorScope scope = TensorScope.detached(gpu);
                 NcclCollective ranks = NcclCollective.create(gpu, bootstrap.get(rank), TIMEOUT)) {
                // small integers: every order of addition gives the same, exact sum
                Tensor t = Tensor.of(gpu, scope, new float[]{rank + 1, 10 * (rank + 1), -rank}, Shape.of(3));
                Tensor fromOne = Tensor.of(gpu, scope, new float[]{rank, rank}, Shape.of(2));
                ranks.allReduceSum(List.of(t));
                ranks.broadcast(List.of(fromOne), 1);
                ranks.barrier();
                return new float[][]{t.toFloatArray(), fromOne.toFloatArray()};
            }
        });
        for (Object outcome : outcomes) {
            float[][] got = assertInstanceOf(float[][].class, outcome);
            assertArrayEquals(new float[]{3, 30, -1}, got[0]);
            assertArrayEquals(new float[]{1, 1}, got[1]);
        }
    }

    /**
     * Runs {@code rank}'s work on one daemon thread per rank and returns each result; fails, instead of hanging, when
     * a rank is stuck in NCCL (a native call cannot be interrupted, and a daemon thread does not keep the JVM).
     */
    private static List<Object> onThreads(int ranks, IntFunction<Callable<Object>> work) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(ranks, r -> {
            Thread t = new Thread(r, "nccl-rank");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Object>> futures = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                futures.add(threads.submit(work.apply(r)));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : futures) {
                try {
                    out.add(f.get(2, TimeUnit.MINUTES));
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
            }
            return out;
        } finally {
            threads.shutdownNow();
        }
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }
}
