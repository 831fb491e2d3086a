package dev.finetune4j.core.distributed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The ranks of a data-parallel run inside one JVM, one thread each, typically one per GPU
 * ({@code Device.cuda(rank)}). The values go through host memory: {@code cuda:n}'s tensors are copied to the host,
 * summed there in rank order, and copied back.
 *
 * <pre>{@code
 * List<Collective> ranks = LocalCollective.group(2, Duration.ofMinutes(30));
 * // thread r: train its replica with ranks.get(r), then close it
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
        long generation;
        String failure;

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
                requireHealthy(rank);
                return;
            }
            long deadline = System.nanoTime() + timeoutNanos;
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
                    Thread.currentThread().interrupt();
                    fail("rank " + rank + " was interrupted at " + operations[rank]);
                }
            }
            requireHealthy(rank);
        }

        /** Fails every rank's current and later operations. */
        synchronized void fail(String why) {
            if (failure == null) {
                failure = why;
            }
            notifyAll();
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
