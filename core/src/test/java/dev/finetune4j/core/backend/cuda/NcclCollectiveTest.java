package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.CollectiveException;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NcclCollective} on the fake devices {@code fakecuda:0} and {@code fakecuda:1} over {@link FakeNccl}, which
 * checks every pointer, extent, context and group as NCCL needs them and logs the calls: what reaches NCCL is
 * compared with the tensors and the backends' streams. Nothing is summed here (NcclOnCudaTest checks values on a GPU).
 */
class NcclCollectiveTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final FakeCuda cuda = FakeCudaProvider.libraries();
    private final FakeNccl fake = new FakeNccl(cuda);
    private final Nccl nccl = new Nccl(new NativeFunctions(fake));

    @AfterEach
    void idleStreams() {
        cuda.streamsBusy(false);
    }

    /** What one rank passed: its stream, and the addresses and sizes of its tensors, in order. */
    private record RankView(String thread, long stream, List<Long> addresses) {
    }

    @Test
    void twoRanksJoinWithRankZerosIdAndQueueEachOperationAsOneGroupOnTheirOwnStreams() throws Exception {
        List<Collective> bootstrap = LocalCollective.group(2, TIMEOUT);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<RankView>> ranks = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                ranks.add(threads.submit(() -> runRank(new Device(FakeCudaProvider.TYPE, rank), bootstrap.get(rank))));
            }
            RankView zero = ranks.get(0).get(30, TimeUnit.SECONDS);
            RankView one = ranks.get(1).get(30, TimeUnit.SECONDS);
            assertEquals(1, fake.uniqueIdsMade(), "only rank 0 makes the id; rank 1 joins with the bootstrap's copy");
            assertEquals(List.of("ncclGetUniqueId", "ncclCommInitRank"),
                    fake.calls(zero.thread()).stream().limit(2).map(FakeNccl.Call::name).toList());
            assertEquals("ncclCommInitRank", fake.calls(one.thread()).getFirst().name());
            assertNotEquals(zero.stream(), one.stream());
            for (RankView view : List.of(zero, one)) {
                List<FakeNccl.Call> calls = fake.calls(view.thread());
                long comm = calls.stream().filter(c -> c.name().equals("ncclCommInitRank")).findFirst().orElseThrow()
                        .comm();
                List<String> expected = List.of(
                        "ncclGroupStart",
                        "ncclAllReduce " + view.addresses().get(0) + " 3 7 -1 " + view.stream(),
                        "ncclAllReduce " + view.addresses().get(1) + " 10 7 -1 " + view.stream(),
                        "ncclGroupEnd",
                        "ncclGroupStart",
                        "ncclBroadcast " + view.addresses().get(2) + " 16 1 1 " + view.stream(),
                        "ncclBroadcast " + view.addresses().get(3) + " 10 1 1 " + view.stream(),
                        "ncclGroupEnd",
                        "ncclGroupStart",
                        "ncclAllReduce 1 7 -1 " + view.stream(),
                        "ncclGroupEnd",
                        "ncclCommDestroy");
                List<String> actual = calls.subList(calls.indexOf(calls.stream()
                        .filter(c -> c.name().equals("ncclCommInitRank")).findFirst().orElseThrow()) + 1, calls.size())
                        .stream().map(c -> describe(c, view)).toList();
                assertEquals(expected, actual);
                assertTrue(calls.stream().filter(c -> c.comm() != 0).allMatch(c -> c.comm() == comm),
                        "every call of a rank uses its communicator");
            }
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * A rank's calls: two float32 tensors summed, an int and a bf16 tensor broadcast from rank 1, a barrier; the
     * barrier's scratch float is written without its address, which the test cannot know.
     */
    private static String describe(FakeNccl.Call c, RankView view) {
        if (c.stream() == 0) {
            return c.name();
        }
        String buffer = view.addresses().contains(c.buffer()) ? c.buffer() + " " : "";
        return c.name() + " " + buffer + c.count() + " " + c.datatype() + " " + c.root() + " " + c.stream();
    }

    private RankView runRank(Device device, Collective bootstrap) {
        CudaRuntime rt = ((CudaBackend) device.backend()).runtime();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, bootstrap, TIMEOUT, nccl)) {
            assertEquals(bootstrap.rank(), ranks.rank());
            assertEquals(2, ranks.worldSize());
            Tensor a = Tensor.zeros(scope, device, DType.F32, Shape.of(3));
            Tensor b = Tensor.zeros(scope, device, DType.F32, Shape.of(2, 5));
            Tensor ints = Tensor.zeros(scope, device, DType.I32, Shape.of(4));
            Tensor halves = Tensor.zeros(scope, device, DType.BF16, Shape.of(5));
            ranks.allReduceSum(List.of(a, b));
            ranks.broadcast(List.of(ints, halves), 1);
            ranks.barrier();
            assertEquals(0, fake.groupDepth());
            return new RankView(Thread.currentThread().getName(), rt.context.stream().address(),
                    List.of(rt.address(a), rt.address(b), rt.address(ints), rt.address(halves)));
        } finally {
            bootstrap.close();
        }
    }

    @Test
    void aPeersFailureThatNcclReportsAbortsTheCommunicatorAndFailsEveryLaterOperation() {
        Device device = FakeCudaProvider.device();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, Collective.single(), TIMEOUT, nccl)) {
            Tensor t = Tensor.zeros(scope, device, DType.F32, Shape.of(4));
            cuda.streamsBusy(true);
            fake.asyncError(6);
            CollectiveException e = assertThrows(CollectiveException.class, () -> ranks.allReduceSum(List.of(t)));
            assertTrue(e.getMessage().startsWith("rank 0 of 1 (NCCL 2.28.5 on fakecuda:0) cannot go on"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("ncclRemoteError (" + FakeNccl.errorString(6) + ", code 6)"),
                    e.getMessage());
            assertEquals("ncclCommAbort", fake.calls().getLast().name());
            CollectiveException later = assertThrows(CollectiveException.class, ranks::barrier);
            assertTrue(later.getMessage().contains("aborted the communicator"), later.getMessage());
        }
        assertEquals("ncclCommAbort", fake.calls().getLast().name(), "an aborted communicator is not destroyed");
    }

    @Test
    void anOperationNotDoneWithinTheTimeoutAbortsTheCommunicator() {
        Device device = FakeCudaProvider.device();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, Collective.single(), Duration.ofMillis(50), nccl)) {
            Tensor t = Tensor.zeros(scope, device, DType.F32, Shape.of(4));
            cuda.streamsBusy(true);
            CollectiveException e = assertThrows(CollectiveException.class, () -> ranks.broadcast(List.of(t), 0));
            assertTrue(e.getMessage().contains("did not finish within PT0.05S"), e.getMessage());
            assertEquals("ncclCommAbort", fake.calls().getLast().name());
        }
    }

    @Test
    void anInterruptDoesNotEndTheWaitAndIsSetAgainAfterIt() throws Exception {
        Device device = FakeCudaProvider.device();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, Collective.single(), Duration.ofMinutes(1), nccl)) {
            Tensor t = Tensor.zeros(scope, device, DType.F32, Shape.of(4));
            cuda.streamsBusy(true);
            Thread self = Thread.currentThread();
            Thread peer = Thread.ofPlatform().start(() -> { // interrupts the waiting rank, then lets its stream finish
                LockSupport.parkNanos(100_000_000);
                self.interrupt();
                LockSupport.parkNanos(100_000_000);
                cuda.streamsBusy(false);
            });
            ranks.allReduceSum(List.of(t));
            assertTrue(Thread.interrupted(), "the interrupt status is set again after the operation");
            peer.join();
            assertEquals("ncclGroupEnd", fake.calls().getLast().name(), "no abort: " + fake.calls().getLast());
        }
    }

    @Test
    void aFailedCallNamesItselfAndNcclsErrorAndStillEndsItsGroup() {
        Device device = FakeCudaProvider.device();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, Collective.single(), TIMEOUT, nccl)) {
            Tensor t = Tensor.zeros(scope, device, DType.F32, Shape.of(3));
            fake.failNext("ncclAllReduce", 4);
            CollectiveException e = assertThrows(CollectiveException.class, () -> ranks.allReduceSum(List.of(t)));
            assertTrue(e.getMessage().contains("ncclAllReduce(3 values of ncclDataType_t 7) failed: ncclInvalidArgument ("
                    + FakeNccl.errorString(4) + ", code 4)"), e.getMessage());
            assertEquals(0, fake.groupDepth());
            assertEquals(List.of("ncclGroupStart", "ncclAllReduce (failed)", "ncclGroupEnd", "ncclCommAbort"),
                    fake.calls().stream().skip(2).map(FakeNccl.Call::name).toList());
        }
    }

    @Test
    void tensorsNcclCannotTakeAreRefusedBeforeAnythingIsQueued() {
        Device device = FakeCudaProvider.device();
        try (TensorScope scope = TensorScope.detached(device);
             NcclCollective ranks = NcclCollective.create(device, Collective.single(), TIMEOUT, nccl)) {
            int before = fake.calls().size();
            Tensor onCpu = Tensor.zeros(scope, Device.cpu(), DType.F32, Shape.of(2));
            Tensor halves = Tensor.zeros(scope, device, DType.BF16, Shape.of(2));
            Tensor view = Tensor.zeros(scope, device, DType.F32, Shape.of(2, 3)).transpose(0, 1);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ranks.allReduceSum(List.of(onCpu)))
                    .getMessage().contains("same device"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ranks.allReduceSum(List.of(halves)))
                    .getMessage().contains("float32"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ranks.broadcast(List.of(view), 0))
                    .getMessage().contains("non-contiguous"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ranks.broadcast(List.of(halves), 1))
                    .getMessage().contains("root 1"));
            assertEquals(before, fake.calls().size());
        }
    }

    @Test
    void aCommunicatorNcclCannotMakeFailsCreationWithTheCallAndNcclsError() {
        fake.failNext("ncclGetUniqueId", 2);
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> NcclCollective.create(FakeCudaProvider.device(), Collective.single(), TIMEOUT, nccl));
        assertTrue(e.getMessage().contains("rank 0 of 1 could not join") && e.getMessage().contains(
                "ncclGetUniqueId failed: ncclSystemError (" + FakeNccl.errorString(2) + ", code 2)"), e.getMessage());
    }

    @Test
    void versionCodesReadAsNcclHDefinesThem() {
        assertEquals("2.28.5", Nccl.versionName(22805));
        assertEquals("2.8.4", Nccl.versionName(2804));
        assertEquals("3.0.0", Nccl.versionName(30000));
    }

    @Test
    void onlyCudaDevicesAndPositiveTimeoutsAreAccepted() {
        assertThrows(IllegalArgumentException.class,
                () -> NcclCollective.create(Device.cpu(), Collective.single(), TIMEOUT, nccl));
        assertThrows(IllegalArgumentException.class,
                () -> NcclCollective.create(FakeCudaProvider.device(), Collective.single(), Duration.ZERO, nccl));
        assertEquals(List.of(), fake.calls());
    }

    @Test
    void withoutNcclCreatingSaysWhatToInstallAndThatLocalCollectiveWorks() {
        var reason = NcclCollective.unavailableReason();
        Assumptions.assumeTrue(reason.isPresent(), "NCCL is installed here");
        assertTrue(reason.get().contains("pip install nvidia-nccl-cu13"), reason.get());
        assertTrue(reason.get().contains("LocalCollective"), reason.get());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NcclCollective.create(FakeCudaProvider.device(), Collective.single()));
        assertTrue(e.getMessage().contains(reason.get()), e.getMessage());
    }
}
