package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.distributed.Collective;
import dev.finetune4j.core.distributed.CollectiveArguments;
import dev.finetune4j.core.distributed.CollectiveException;
import dev.finetune4j.core.distributed.LocalCollective;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * The ranks of a data-parallel run summing and broadcasting their tensors on their GPUs through NCCL, one GPU per
 * rank: the data never leaves the devices (NVLink or PCIe between the GPUs of a machine, the network between
 * machines). Each operation is queued on the backend's stream, after the work that produced its tensors, and
 * returns when it is done.
 *
 * <pre>{@code
 * // one process per GPU (on one or several machines); the bootstrap (the processes' socket collective) carries
 * // NCCL's unique id from rank 0
 * try (Collective ranks = NcclCollective.create(Device.cuda(localGpu), bootstrap)) {
 *     // train with ranks
 * }
 * // threads of one JVM, one GPU each: thread r calls, at the same time as the others,
 * List<Collective> boot = LocalCollective.group(gpus, Duration.ofMinutes(5));
 * Collective ranks = NcclCollective.create(Device.cuda(r), boot.get(r));
 * }</pre>
 *
 * <p><b>Sums.</b> NCCL adds the ranks' values in the order of its ring or tree, which depends on the element's
 * position, the size of the operation, the machines' topology and {@code NCCL_ALGO}/{@code NCCL_PROTO}; not in rank
 * order, so a sum can differ in its last bits from {@link LocalCollective}'s, and between runs that NCCL plans
 * differently. Its ring and tree all-reduces compute each element's sum once and copy it to every rank, so the ranks
 * get the same bits and replicas stay equal; NCCL's documentation does not state this as a guarantee for every
 * algorithm, so pinning {@code NCCL_ALGO=Ring} is the conservative choice where bit-equal replicas matter.
 *
 * <p><b>Failures.</b> An operation waits for the stream and meanwhile polls NCCL's asynchronous error: a peer's
 * failure that NCCL detects (a closed connection: {@code ncclRemoteError}), or an operation not done within the
 * timeout (a stuck, dead or much slower peer, or ranks calling operations in another order), aborts the
 * communicator and fails this and every later operation with {@link CollectiveException}. NCCL cannot see ranks
 * passing different sizes: that shows as a timeout, or not at all, so every rank must pass the same sizes.
 * Creating the communicator waits, without a timeout, until every rank has joined; the bootstrap's broadcast just
 * before it has shown that every rank was there.
 *
 * <p>Thread-safe: operations are serialized; a rank is normally driven by one thread.
 */
public final class NcclCollective implements Collective {
    /** How long {@link #create(Device, Collective)}'s operations wait for the other ranks. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);
    /** Between two looks at the stream and NCCL's error while an operation runs. */
    private static final long POLL_NANOS = 20_000;

    private final Nccl nccl;
    private final CudaRuntime rt;
    private final MemorySegment comm;
    private final int rank;
    private final int worldSize;
    private final Duration timeout;
    /** The library's version, for messages. */
    private final String version;
    /** Why the communicator was aborted; null while it is healthy. */
    private String failure;
    private boolean closed;

    private NcclCollective(Nccl nccl, String version, CudaRuntime rt, MemorySegment comm, int rank, int worldSize,
                           Duration timeout) {
        this.nccl = nccl;
        this.rt = rt;
        this.comm = comm;
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeout = timeout;
        this.version = version;
    }

    /**
     * Joins the NCCL communicator of {@code bootstrap}'s ranks on {@code cudaDevice}, with operations that wait
     * {@link #DEFAULT_TIMEOUT} for the other ranks. Every rank calls it at the same time (it returns when all have
     * joined); rank 0 makes NCCL's unique id and {@code bootstrap} broadcasts it.
     *
     * @param cudaDevice this rank's GPU ({@code cuda:n}); every rank of a machine needs its own (NCCL refuses two
     *                   ranks on one GPU)
     * @param bootstrap  the same ranks over another transport ({@link LocalCollective} for threads of one JVM, a
     *                   socket collective for processes); it gives this collective its rank and world size, and is
     *                   not needed afterwards (the caller still closes it)
     * @return this rank of the communicator; close it when done
     * @throws IllegalStateException    when NCCL is not installed ({@link #unavailableReason()})
     * @throws IllegalArgumentException when {@code cudaDevice} is not a CUDA device
     * @throws CollectiveException      when the bootstrap fails or NCCL cannot make the communicator; close the
     *                                  bootstrap then, so that the other ranks fail at once instead of at its timeout
     */
    public static NcclCollective create(Device cudaDevice, Collective bootstrap) {
        return create(cudaDevice, bootstrap, DEFAULT_TIMEOUT);
    }

    /**
     * {@link #create(Device, Collective)} with operations that wait {@code timeout} for the other ranks before they
     * abort the communicator.
     *
     * @param cudaDevice this rank's GPU
     * @param bootstrap  the same ranks over another transport
     * @param timeout    how long an operation waits (including the work queued before it on the stream)
     * @return this rank of the communicator
     */
    public static NcclCollective create(Device cudaDevice, Collective bootstrap, Duration timeout) {
        Library library = library();
        if (library.nccl() == null) {
            throw new IllegalStateException("NcclCollective cannot run on " + cudaDevice + ": " + library.reason());
        }
        return create(cudaDevice, bootstrap, timeout, library.nccl());
    }

    /** {@link #create(Device, Collective, Duration)} through {@code nccl} (a test's stand-in where there is none). */
    static NcclCollective create(Device cudaDevice, Collective bootstrap, Duration timeout, Nccl nccl) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, not " + timeout);
        }
        if (!(cudaDevice.backend() instanceof CudaBackend cuda)) {
            throw new IllegalArgumentException("NcclCollective sums on CUDA devices, not " + cudaDevice
                    + ": use LocalCollective (host memory) for other devices");
        }
        CudaRuntime rt = cuda.runtime();
        int rank = bootstrap.rank();
        int worldSize = bootstrap.worldSize();
        try {
            String version = nccl.version();
            byte[] id = rank == 0 ? nccl.uniqueId() : new byte[Nccl.UNIQUE_ID_BYTES];
            shareFromRankZero(bootstrap, id);
            rt.context.enter();
            return new NcclCollective(nccl, version, rt, nccl.commInitRank(worldSize, id, rank), rank, worldSize,
                    timeout);
        } catch (CudaException e) {
            throw new CollectiveException("rank " + rank + " of " + worldSize + " could not join the NCCL"
                    + " communicator on " + cudaDevice + ": " + e.getMessage(), e);
        }
    }

    /** Overwrites {@code id} on every rank with rank 0's, through {@code bootstrap}. */
    private static void shareFromRankZero(Collective bootstrap, byte[] id) {
        try (TensorScope scope = TensorScope.detached()) {
            Tensor bytes = Tensor.wrap(scope, MemorySegment.ofArray(id), DType.U8, Shape.of(id.length));
            bootstrap.broadcast(List.of(bytes), 0);
        }
    }

    /**
     * Why {@link #create(Device, Collective)} cannot run here, if it cannot: NCCL is not installed, or native access
     * is not enabled. {@link LocalCollective} works without NCCL.
     *
     * @return the reason, or empty when NCCL is loaded
     */
    public static Optional<String> unavailableReason() {
        return Optional.ofNullable(library().reason());
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    /** {@inheritDoc} The tensors are on this collective's device; one NCCL group sums them all. */
    @Override
    public synchronized void allReduceSum(List<Tensor> tensors) {
        CollectiveArguments.requireFloat32(tensors);
        long[] addresses = addresses(tensors);
        run("allReduceSum of " + tensors.size() + " tensors", () -> {
            for (int i = 0; i < addresses.length; i++) {
                long count = tensors.get(i).numel();
                if (count > 0) {
                    nccl.allReduceSumInPlace(addresses[i], count, Nccl.FLOAT32, comm, rt.context.stream());
                }
            }
        });
    }

    /** {@inheritDoc} The tensors are on this collective's device; one NCCL group sends them all, as bytes. */
    @Override
    public synchronized void broadcast(List<Tensor> tensors, int root) {
        CollectiveArguments.requireRoot(root, worldSize);
        tensors.forEach(CollectiveArguments::requireContiguous);
        long[] addresses = addresses(tensors);
        run("broadcast of " + tensors.size() + " tensors from rank " + root, () -> {
            for (int i = 0; i < addresses.length; i++) {
                long bytes = tensors.get(i).dtype().bytesFor(tensors.get(i).numel());
                if (bytes > 0) {
                    nccl.broadcastInPlace(addresses[i], bytes, root, comm, rt.context.stream());
                }
            }
        });
    }

    /** {@inheritDoc} An all-reduce of one float on the device. */
    @Override
    public synchronized void barrier() {
        try (Scratch scratch = rt.scratch()) {
            long one = scratch.buffer(Float.BYTES);
            run("barrier", () -> nccl.allReduceSumInPlace(one, 1, Nccl.FLOAT32, comm, rt.context.stream()));
        }
    }

    /**
     * Frees the communicator (ncclCommDestroy; one aborted by a failure is already freed). The other ranks'
     * operations then fail when NCCL sees the connection close, or at their timeout.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (failure == null) {
            rt.context.enter();
            try {
                nccl.commDestroy(comm);
            } catch (CudaException e) {
                throw new CollectiveException(describeRank() + " could not close its communicator: " + e.getMessage(), e);
            }
        }
    }

    /** Each tensor's device address, checking that it lives on this collective's device. */
    private long[] addresses(List<Tensor> tensors) {
        long[] out = new long[tensors.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = rt.address(tensors.get(i));
        }
        return out;
    }

    /** Queues {@code calls} as one NCCL group on the stream and waits until the stream is done. */
    private void run(String operation, Runnable calls) {
        if (closed || failure != null) {
            throw new CollectiveException(describeRank() + " cannot run " + operation + ": " + (closed
                    ? "it was closed" : "an earlier operation failed and aborted the communicator (" + failure + ")"));
        }
        rt.context.enter();
        try {
            rt.context.queue(() -> "nccl " + operation, () -> inGroup(calls));
            awaitStream(operation);
        } catch (CudaException e) {
            throw abort(operation + " failed: " + e.getMessage(), e);
        }
    }

    /** Runs {@code calls} between ncclGroupStart and ncclGroupEnd, ending the group also when a call fails. */
    private void inGroup(Runnable calls) {
        nccl.groupStart();
        try {
            calls.run();
        } catch (RuntimeException e) {
            try {
                nccl.groupEnd();
            } catch (RuntimeException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
        nccl.groupEnd();
    }

    /**
     * Waits for the stream, failing when NCCL reports a peer's failure or the timeout passes. An interrupt does not end
     * the wait (as for the other collectives: a trainer stops every rank after the step in which one was interrupted);
     * the thread's interrupt status is set again afterwards.
     */
    private void awaitStream(String operation) {
        long start = System.nanoTime();
        boolean interrupted = Thread.interrupted(); // NOTE: a set status would make every park return at once
        try {
            while (!rt.driver.streamDone(rt.context.stream())) {
                int error = nccl.asyncError(comm);
                if (error != Nccl.SUCCESS && error != Nccl.IN_PROGRESS) {
                    throw abort(operation + ": " + nccl.describeAsync(error) + " (a rank failed, left, or lost its"
                            + " connection)", null);
                }
                if (System.nanoTime() - start > timeout.toNanos()) {
                    throw abort(operation + " did not finish within " + timeout + " (a rank is stuck, dead, slower"
                            + " than the timeout, passed other sizes, or calls the operations in another order)", null);
                }
                LockSupport.parkNanos(POLL_NANOS);
                interrupted |= Thread.interrupted();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Aborts the communicator, so that its operations stop on the device, and says why. */
    private CollectiveException abort(String why, Throwable cause) {
        failure = why;
        CollectiveException e = new CollectiveException(describeRank() + " cannot go on: " + why
                + "; the communicator was aborted, and the replicas may now differ, so the run must restart", cause);
        try {
            nccl.commAbort(comm);
        } catch (CudaException alsoFailed) {
            e.addSuppressed(alsoFailed);
        }
        return e;
    }

    private String describeRank() {
        return "rank " + rank + " of " + worldSize + " (NCCL " + version + " on " + rt.device + ")";
    }

    /** NCCL as loaded once per process, or why it could not be. */
    private record Library(Nccl nccl, String reason) {
    }

    private static Library library;

    private static synchronized Library library() {
        if (library == null) {
            library = loadLibrary();
        }
        return library;
    }

    private static Library loadLibrary() {
        Module self = NcclCollective.class.getModule();
        if (!self.isNativeAccessEnabled()) {
            return new Library(null, "native access is not enabled, so NCCL cannot be loaded: start java with"
                    + " --enable-native-access=" + (self.isNamed() ? self.getName() : "ALL-UNNAMED"));
        }
        // NOTE: never closed, as the CUDA libraries' arena: communicators may live until the process ends.
        Arena arena = Arena.ofShared();
        try {
            return new Library(Nccl.load(System.getenv(), arena), null);
        } catch (LibraryFinder.NotFound e) {
            arena.close();
            return new Library(null, e.getMessage() + ". NCCL comes with pip install nvidia-nccl-cu13 (nvidia-nccl-cu12"
                    + " for CUDA 12) or the distribution's libnccl2 package; without it, LocalCollective sums the"
                    + " gradients of one machine's GPUs through host memory");
        }
    }
}
