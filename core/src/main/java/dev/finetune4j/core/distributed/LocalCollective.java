package dev.finetune4j.core.distributed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The ranks of a data-parallel run inside one JVM, one thread each, typically one per GPU
 * ({@code Device.cuda(rank)}); {@link #runOnThreads} starts the threads. The values go through host memory:
 * {@code cuda:n}'s tensors are copied to the host, summed there in rank order (each rank adds its slice of the
 * values, all at once), and copied back. An interrupt of a waiting rank does not end its wait (the timeout does);
 * the thread's interrupt status is set again when the operation returns.
 *
 * <pre>{@code
 * List<TrainResult> results = LocalCollective.runOnThreads(2, Duration.ofMinutes(30), rank -> {
 *     LoadOptions onItsGpu = LoadOptions.builder().device(Device.cuda(rank.rank())).build();
 *     try (LanguageModel base = AutoModel.loadCausalLM(dir, onItsGpu)) {
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
        group.meet(rank, "allReduceSum", floats, LocalCollective::sumSliceInRankOrder);
    }

    @Override
    protected void broadcast(MemorySegment bytes, int root) {
        group.meet(rank, "broadcast from rank " + root, bytes, (buffers, r) -> {
            if (r != root) { // each rank copies the root's bytes into its own buffer, all at once
                buffers[r].copyFrom(buffers[root]);
            }
        });
    }

    @Override
    public void barrier() {
        group.meet(rank, "barrier", MemorySegment.NULL, (buffers, r) -> { });
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

    /** The floats per block that a rank adds on the heap, where the loop vectorizes. */
    private static final int BLOCK = 1 << 14;

    /**
     * Rank {@code r}'s slice of the floats (the {@code r}-th of {@code buffers.length} nearly equal parts): every
     * rank's values added in rank order, {@code ((x0 + x1) + x2) + ...}, written into every buffer.
     */
    private static void sumSliceInRankOrder(MemorySegment[] buffers, int r) {
        long n = buffers[0].byteSize() / Float.BYTES;
        long from = n * r / buffers.length;
        long to = n * (r + 1) / buffers.length;
        float[] sum = new float[BLOCK];
        float[] next = new float[BLOCK];
        for (long at = from; at < to; at += BLOCK) {
            int len = (int) Math.min(BLOCK, to - at);
            MemorySegment.copy(buffers[0], ValueLayout.JAVA_FLOAT_UNALIGNED, at * Float.BYTES, sum, 0, len);
            for (int q = 1; q < buffers.length; q++) {
                MemorySegment.copy(buffers[q], ValueLayout.JAVA_FLOAT_UNALIGNED, at * Float.BYTES, next, 0, len);
                for (int i = 0; i < len; i++) {
                    sum[i] += next[i];
                }
            }
            for (MemorySegment buffer : buffers) {
                MemorySegment.copy(sum, 0, buffer, ValueLayout.JAVA_FLOAT_UNALIGNED, at * Float.BYTES, len);
            }
        }
    }

    /** What one rank does once every rank has arrived: its part of the operation over every rank's buffer. */
    @FunctionalInterface
    private interface RankPart {
        void run(MemorySegment[] buffers, int rank);
    }

    /**
     * The rendezvous the members share. An operation passes two barriers: once every rank has arrived (and called
     * the same operation), each does its part over every rank's buffer at the same time, outside the lock; once every
     * part is done, the buffers are released and the ranks return.
     */
    private static final class Group {
        final int size;
        final long timeoutNanos;
        final MemorySegment[] buffers;
        final String[] operations;
        /** The ranks at the barrier in progress. */
        final boolean[] here;
        int waiting;
        /** Barriers passed, two per operation. */
        long phase;
        /** The buffers of the operation in progress, for every rank's part (set when all have arrived). */
        MemorySegment[] current;
        String failure;
        /** The barrier ({@link #phase}) in progress when the group failed: it and every later one fail. */
        long failedAt;

        Group(int size, Duration timeout) {
            this.size = size;
            this.timeoutNanos = timeout.toNanos();
            this.buffers = new MemorySegment[size];
            this.operations = new String[size];
            this.here = new boolean[size];
        }

        void meet(int rank, String operation, MemorySegment buffer, RankPart part) {
            MemorySegment[] all;
            String called = operation + " of " + buffer.byteSize() + " bytes";
            synchronized (this) {
                requireHealthy(rank);
                buffers[rank] = buffer;
                operations[rank] = called;
                // NOTE: ranks that disagree have buffers of other sizes: their parts would read past one's end
                pass(rank, "at " + called, () -> current = sameOperation() ? buffers.clone() : null);
                all = current;
            }
            try {
                part.run(all, rank);
            } catch (RuntimeException e) {
                fail("rank " + rank + " failed in its part of " + called + ": " + e);
                throw e;
            }
            synchronized (this) {
                pass(rank, "after " + called, () -> {
                    current = null;
                    Arrays.fill(buffers, null);
                });
            }
        }

        /**
         * Waits, holding the lock between waits, until every rank has reached this barrier; the last to arrive runs
         * {@code last} for all. Fails when the group failed at or before it, or after the timeout.
         */
        private void pass(int rank, String where, Runnable last) {
            long mine = phase;
            here[rank] = true;
            if (++waiting == size) {
                try {
                    last.run();
                } finally {
                    waiting = 0;
                    Arrays.fill(here, false);
                    phase++;
                    notifyAll();
                }
                requireCompleted(rank, mine);
                return;
            }
            long deadline = System.nanoTime() + timeoutNanos;
            boolean interrupted = false;
            while (phase == mine && failure == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("rank " + rank + " waited " + Duration.ofNanos(timeoutNanos) + " " + where + " for ranks "
                            + missing() + " (a rank is stuck, slower than the timeout, or calls the operations in "
                            + "another order)");
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
                failedAt = phase;
            }
            notifyAll();
        }

        /** Fails unless barrier {@code barrier} was passed before the group failed (a rank may leave after it). */
        private void requireCompleted(int rank, long barrier) {
            if (failure != null && failedAt <= barrier) {
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
                if (!here[r]) {
                    out.add(r);
                }
            }
            return out;
        }
    }
}
