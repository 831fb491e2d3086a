package dev.finetune4j.core.distributed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The ranks of a data-parallel run inside one JVM, one thread each, typically one per GPU
 * ({@code Device.cuda(rank)}); {@link #runOnThreads} starts the threads. The values go through host memory: {@code cuda:n}'s tensors are copied to the host,
 * summed there in rank order, and copied back. An interrupt of a waiting rank does not end its wait (the timeout
 * does); the thread's interrupt status is set again when the operation returns.
 *
 * <pre>{@code
 * List<TrainResult> results = LocalCollective.runOnThreads(2, Duration.ofMinutes(30), rank -> {
 *     try (LanguageModel base = AutoModel.loadCausalLM(dir, Device.cuda(rank.rank()))) {
 *         return SftTrainer.builder().model(Peft.wrap(base, lora)).config(cfg).trainData(data)
 *                 .collective(rank).build().train();
 *     }
 * });
 * }</pre>
 */
public final class LocalCollective extends HostCollective {
    private final Group group;
    private final int rank;
    private boolean closed;

    private LocalCollective(Group group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /**
     * A group of {@code size} ranks, member {@code r} being rank {@code r}; each is used by one thread.
     *
     * @param size    the number of ranks, at least 1
     * @param timeout how long an operation waits for the other ranks before it fails on every rank
     * @return the members, in rank order
     */
    public static List<Collective> group(int size, Duration timeout) {
        if (size < 1) {
            throw new IllegalArgumentException("a group needs at least one rank, not " + size);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, not " + timeout);
        }
        Group group = new Group(size, timeout);
        List<Collective> members = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            members.add(new LocalCollective(group, r));
        }
        return List.copyOf(members);
    }

    /**
     * What one rank does, on its own thread.
     *
     * @param <T> its result
     */
    @FunctionalInterface
    public interface RankTask<T> {
        /**
         * Runs this rank's part.
         *
         * @param rank this thread's member of the group
         * @return the rank's result
         * @throws Exception when the rank fails: its member is closed, so the other ranks fail at their next exchange
         */
        T run(Collective rank) throws Exception;
    }

    /**
     * Runs {@code task} on {@code size} new threads, one per rank of a new {@link #group}, and returns their results
     * in rank order once all have ended. Each rank's member is closed when its task ends. Interrupting the calling
     * thread interrupts every rank (a trainer then stops every rank after the same step) and still waits for them.
     *
     * @param size    the number of ranks
     * @param timeout how long an operation waits for the other ranks ({@link #group})
     * @param task    what each rank does
     * @param <T>     a rank's result
     * @return each rank's result, in rank order
     * @throws CollectiveException when a rank failed, with that rank's exception as the cause (an original failure is
     *                             preferred to the other ranks' failures that followed it, which are suppressed)
     */
    public static <T> List<T> runOnThreads(int size, Duration timeout, RankTask<T> task) {
        List<Collective> members = group(size, timeout);
        List<T> results = new ArrayList<>(Collections.nCopies(size, null));
        Throwable[] failures = new Throwable[size];
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            int rank = r;
            threads.add(Thread.ofPlatform().name("finetune4j-rank-" + r).start(() -> {
                try (Collective member = members.get(rank)) {
                    results.set(rank, task.run(member));
                } catch (Throwable e) {
                    failures[rank] = e;
                }
            }));
        }
        joinAll(threads);
        return resultsOrFailure(results, failures);
    }

    /** Waits for every thread; an interrupt of the caller is passed on to them, and set again afterwards. */
    private static void joinAll(List<Thread> threads) {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    threads.forEach(Thread::interrupt);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static <T> List<T> resultsOrFailure(List<T> results, Throwable[] failures) {
        int cause = -1;
        for (int r = 0; r < failures.length; r++) {
            boolean original = failures[r] != null && !(failures[r] instanceof CollectiveException);
            if (failures[r] != null && (cause < 0 || original && failures[cause] instanceof CollectiveException)) {
                cause = r;
            }
        }
        if (cause < 0) {
            return Collections.unmodifiableList(results);
        }
        CollectiveException e = new CollectiveException("rank " + cause + " of " + failures.length + " failed: "
                + failures[cause].getMessage(), failures[cause]);
        for (int r = 0; r < failures.length; r++) {
            if (r != cause && failures[r] != null) {
                e.addSuppressed(failures[r]);
            }
        }
        throw e;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return group.size;
    }

    @Override
    protected void allReduceSum(MemorySegment floats) {
        group.meet(rank, "allReduceSum", floats, LocalCollective::sumInRankOrder);
    }

    @Override
    protected void broadcast(MemorySegment bytes, int root) {
        group.meet(rank, "broadcast from rank " + root, bytes, buffers -> {
            for (MemorySegment b : buffers) {
                if (b != buffers[root]) {
                    b.copyFrom(buffers[root]);
                }
            }
        });
    }

    @Override
    public void barrier() {
        group.meet(rank, "barrier", MemorySegment.NULL, buffers -> { });
    }

    @Override
    public void close() {
        synchronized (group) {
            if (!closed) {
                closed = true;
                group.fail("rank " + rank + " left the group (it failed or was closed)");
            }
        }
    }

    /** Adds every rank's floats in rank order, and writes the sum into each. */
    private static void sumInRankOrder(MemorySegment[] buffers) {
        long n = buffers[0].byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) {
            float sum = buffers[0].getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            for (int r = 1; r < buffers.length; r++) {
                sum += buffers[r].getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            }
            for (MemorySegment b : buffers) {
                b.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, sum);
            }
        }
    }

    /** The rendezvous the members share: the last rank to arrive at an operation runs it for all. */
    private static final class Group {
        final int size;
        final long timeoutNanos;
        final MemorySegment[] buffers;
        final String[] operations;
        int arrived;
        /** Operations completed. */
        long generation;
        String failure;
        /** The operation ({@link #generation}) in progress when the group failed: it and every later one fail. */
        long failedAt;

        Group(int size, Duration timeout) {
            this.size = size;
            this.timeoutNanos = timeout.toNanos();
            this.buffers = new MemorySegment[size];
            this.operations = new String[size];
        }

        synchronized void meet(int rank, String operation, MemorySegment buffer, Consumer<MemorySegment[]> combine) {
            requireHealthy(rank);
            buffers[rank] = buffer;
            operations[rank] = operation + " of " + buffer.byteSize() + " bytes";
            long mine = generation;
            if (++arrived == size) {
                try {
                    // NOTE: ranks that disagree have buffers of other sizes: combining them reads past one's end
                    if (sameOperation()) {
                        combine.accept(buffers);
                    }
                } finally {
                    arrived = 0;
                    generation++;
                    Arrays.fill(buffers, null);
                    notifyAll();
                }
                requireCompleted(rank, mine);
                return;
            }
            long deadline = System.nanoTime() + timeoutNanos;
            boolean interrupted = false;
            while (generation == mine && failure == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("rank " + rank + " waited " + Duration.ofNanos(timeoutNanos) + " at " + operations[rank]
                            + " for ranks " + missing() + " (a rank is stuck, slower than the timeout, or calls the "
                            + "operations in another order)");
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    // kept for the caller: a trainer stops every rank after the step its thread was interrupted in
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            requireCompleted(rank, mine);
        }

        /** Fails every rank's current and later operations. */
        synchronized void fail(String why) {
            if (failure == null) {
                failure = why;
                failedAt = generation;
            }
            notifyAll();
        }

        /** Fails unless operation {@code operation} completed before the group failed (a rank may leave after it). */
        private void requireCompleted(int rank, long operation) {
            if (failure != null && failedAt <= operation) {
                requireHealthy(rank);
            }
        }

        private void requireHealthy(int rank) {
            if (failure != null) {
                throw new CollectiveException("rank " + rank + " of the local group cannot go on: " + failure);
            }
        }

        /** Whether every rank called the same operation; when not, fails the group with what each called. */
        private boolean sameOperation() {
            for (int r = 1; r < size; r++) {
                if (!operations[r].equals(operations[0])) {
                    List<String> each = new ArrayList<>();
                    for (int q = 0; q < size; q++) {
                        each.add("rank " + q + ": " + operations[q]);
                    }
                    fail("the ranks called different operations (" + String.join("; ", each) + "): every rank must "
                            + "call the same operations in the same order with the same sizes");
                    return false;
                }
            }
            return true;
        }

        private List<Integer> missing() {
            List<Integer> out = new ArrayList<>();
            for (int r = 0; r < size; r++) {
                if (buffers[r] == null) {
                    out.add(r);
                }
            }
            return out;
        }
    }
}
