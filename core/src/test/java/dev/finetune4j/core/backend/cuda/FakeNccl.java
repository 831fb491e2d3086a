package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Stand-ins for the NCCL functions {@link Nccl} declares, over the {@link FakeCuda} devices: nothing is summed or
 * sent, but every call is checked as NCCL needs it and fails loudly with an {@link AssertionError}: the buffers of an
 * all-reduce or broadcast lie in a live device allocation for their whole extent (count times the datatype's size),
 * the calling thread has a current context, the communicator is live, the reduction is a sum, a broadcast's root is
 * a rank, group ends match group starts on each thread, and a communicator is made only from an id
 * {@link #uniqueIdsMade() ncclGetUniqueId made}, joined by as many distinct ranks as it declares (ncclCommInitRank
 * waits for all of them, as NCCL does). Every call is logged with its thread, for the test to compare with the
 * tensors and the backend's stream.
 */
final class FakeNccl implements NativeFunctions.Binder {
    /** NCCL_VERSION_CODE the fake reports. */
    static final int VERSION = 22805;
    private static final MethodHandle DISPATCH;

    static {
        try {
            DISPATCH = MethodHandles.lookup().findVirtual(FakeNccl.class, "dispatch",
                    MethodType.methodType(Object.class, String.class, Object[].class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * One call as NCCL received it.
     *
     * @param name     the function
     * @param thread   the calling thread's name
     * @param buffer   the device buffer of an all-reduce or broadcast (0 for other calls)
     * @param count    its element count
     * @param datatype its ncclDataType_t
     * @param root     a broadcast's root (-1 for other calls)
     * @param stream   the stream it was queued on (0 for other calls)
     * @param comm     the communicator (0 for calls without one)
     */
    record Call(String name, String thread, long buffer, long count, int datatype, int root, long stream, long comm) {
    }

    /** A communicator: its size and the context current when it was made (its device's). */
    private record Comm(int ranks, long context) {
    }

    /** The ranks that joined one unique id. */
    private record Clique(int ranks, Set<Integer> joined, CountDownLatch all) {
    }

    private final FakeCuda cuda;
    private final Arena strings = Arena.ofShared();
    private final Map<Integer, MemorySegment> errorStrings = new HashMap<>();
    private final Set<String> ids = new HashSet<>();
    private final Map<String, Clique> cliques = new HashMap<>();
    private final Map<Long, Comm> comms = new HashMap<>();
    private final List<Call> calls = new ArrayList<>();
    private final ThreadLocal<int[]> groupDepth = ThreadLocal.withInitial(() -> new int[1]);
    private long nextComm = 0x5000;
    private int asyncError;
    private String failingCall;
    private int failingStatus;

    /** Stand-ins whose device pointers and contexts are {@code cuda}'s. */
    FakeNccl(FakeCuda cuda) {
        this.cuda = cuda;
    }

    @Override
    public MethodHandle bind(String name, FunctionDescriptor descriptor) {
        return MethodHandles.insertArguments(DISPATCH, 0, this, name)
                .asCollector(Object[].class, descriptor.argumentLayouts().size())
                .asType(descriptor.toMethodType());
    }

    /** The calls so far, in order. */
    synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The calls {@code thread} made, in order. */
    synchronized List<Call> calls(String thread) {
        return calls.stream().filter(c -> c.thread().equals(thread)).toList();
    }

    /** How many ids ncclGetUniqueId made. */
    synchronized int uniqueIdsMade() {
        return ids.size();
    }

    /** Groups started and not ended on the calling thread. */
    int groupDepth() {
        return groupDepth.get()[0];
    }

    /** Makes ncclCommGetAsyncError report {@code status} from now on (a peer's failure). */
    synchronized void asyncError(int status) {
        asyncError = status;
    }

    /** Makes the next call of {@code name} fail with {@code status} and no effect. */
    synchronized void failNext(String name, int status) {
        failingCall = name;
        failingStatus = status;
    }

    /** The text the fake's ncclGetErrorString gives for {@code status}. */
    static String errorString(int status) {
        return "fake NCCL error string " + status;
    }

    private Object dispatch(String name, Object[] a) {
        synchronized (this) {
            if (name.equals(failingCall)) {
                failingCall = null;
                calls.add(new Call(name + " (failed)", Thread.currentThread().getName(), 0, 0, -1, -1, 0, 0));
                return failingStatus;
            }
        }
        if (name.equals("ncclGetErrorString")) {
            return errorStringSegment((int) a[0]);
        }
        if (name.equals("ncclCommInitRank")) {
            return commInitRank(a);
        }
        synchronized (this) {
            String thread = Thread.currentThread().getName();
            switch (name) {
                case "ncclGetVersion" -> putInt(a[0], VERSION);
                case "ncclGetUniqueId" -> {
                    byte[] id = new byte[Nccl.UNIQUE_ID_BYTES];
                    long serial = ids.size() + 1;
                    for (int i = 0; i < id.length; i++) {
                        id[i] = (byte) (serial * 31 + i * 7);
                    }
                    ids.add(HexFormat.of().formatHex(id));
                    ((MemorySegment) a[0]).reinterpret(Nccl.UNIQUE_ID_BYTES).copyFrom(MemorySegment.ofArray(id));
                    calls.add(new Call(name, thread, 0, 0, -1, -1, 0, 0));
                }
                case "ncclAllReduce", "ncclBroadcast" -> collective(name, a);
                case "ncclGroupStart" -> {
                    groupDepth.get()[0]++;
                    calls.add(new Call(name, thread, 0, 0, -1, -1, 0, 0));
                }
                case "ncclGroupEnd" -> {
                    if (groupDepth.get()[0] == 0) {
                        throw new AssertionError("ncclGroupEnd on thread " + thread + " without ncclGroupStart");
                    }
                    groupDepth.get()[0]--;
                    calls.add(new Call(name, thread, 0, 0, -1, -1, 0, 0));
                }
                case "ncclCommGetAsyncError" -> {
                    comm(name, a[0]);
                    putInt(a[1], asyncError);
                }
                case "ncclCommDestroy", "ncclCommAbort" -> {
                    long comm = comm(name, a[0]);
                    comms.remove(comm);
                    calls.add(new Call(name, thread, 0, 0, -1, -1, 0, comm));
                }
                default -> throw new AssertionError("the fake NCCL has no stand-in for " + name);
            }
            return Nccl.SUCCESS;
        }
    }

    /** Joins the clique of the id passed, waiting (outside the lock) until all its ranks have joined. */
    private Object commInitRank(Object[] a) {
        int ranks = (int) a[1];
        int rank = (int) a[3];
        String id = HexFormat.of().formatHex(((MemorySegment) a[2]).toArray(ValueLayout.JAVA_BYTE));
        Long context = cuda.currentContext();
        Clique clique;
        synchronized (this) {
            if (context == null) {
                throw new AssertionError("ncclCommInitRank on a thread without a current context: NCCL would use"
                        + " device 0, whatever the rank's device");
            }
            if (!ids.contains(id)) {
                throw new AssertionError("ncclCommInitRank(rank " + rank + ") with an id ncclGetUniqueId never made:"
                        + " rank 0's id did not reach this rank");
            }
            if (rank < 0 || rank >= ranks) {
                throw new AssertionError("ncclCommInitRank: rank " + rank + " of " + ranks);
            }
            clique = cliques.computeIfAbsent(id, k -> new Clique(ranks, new HashSet<>(), new CountDownLatch(ranks)));
            if (clique.ranks() != ranks || !clique.joined().add(rank)) {
                throw new AssertionError("ncclCommInitRank: rank " + rank + " of " + ranks + " joins a clique of "
                        + clique.ranks() + " whose ranks " + clique.joined() + " have joined");
            }
        }
        clique.all().countDown();
        try {
            if (!clique.all().await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("ncclCommInitRank: rank " + rank + " waited 10 s for the other ranks");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        synchronized (this) {
            long comm = nextComm++;
            comms.put(comm, new Comm(ranks, context));
            putLong(a[0], comm);
            calls.add(new Call("ncclCommInitRank", Thread.currentThread().getName(), 0, 0, -1, rank, 0, comm));
            return Nccl.SUCCESS;
        }
    }

    /** ncclAllReduce(send, recv, count, type, op, comm, stream) or ncclBroadcast(send, recv, count, type, root, ...). */
    private void collective(String name, Object[] a) {
        long send = ((MemorySegment) a[0]).address();
        long recv = ((MemorySegment) a[1]).address();
        long count = (long) a[2];
        int datatype = (int) a[3];
        long comm = comm(name, a[5]);
        if (!Long.valueOf(comms.get(comm).context()).equals(cuda.currentContext())) {
            throw new AssertionError(name + " on a thread whose current context (" + cuda.currentContext() + ") is not"
                    + " that of the communicator's device (" + comms.get(comm).context() + ")");
        }
        long bytes = count * switch (datatype) {
            case Nccl.UINT8 -> 1;
            case Nccl.FLOAT32 -> 4;
            default -> throw new AssertionError(name + ": the fake knows no ncclDataType_t " + datatype);
        };
        int root = -1;
        if (name.equals("ncclAllReduce")) {
            if ((int) a[4] != Nccl.SUM) {
                throw new AssertionError(name + ": reduction " + a[4] + " is not ncclSum");
            }
        } else {
            root = (int) a[4];
            if (root < 0 || root >= comms.get(comm).ranks()) {
                throw new AssertionError(name + ": root " + root + " of " + comms.get(comm).ranks() + " ranks");
            }
        }
        cuda.requireLive(name + " sendbuff (" + count + " of type " + datatype + ")", send, bytes);
        cuda.requireLive(name + " recvbuff (" + count + " of type " + datatype + ")", recv, bytes);
        if (send != recv) {
            throw new AssertionError(name + ": the fake expects in-place operations (sendbuff == recvbuff)");
        }
        calls.add(new Call(name, Thread.currentThread().getName(), send, count, datatype, root,
                ((MemorySegment) a[6]).address(), comm));
    }

    /** The handle of a live communicator that {@code name} was handed. */
    private long comm(String name, Object handle) {
        long comm = ((MemorySegment) handle).address();
        if (!comms.containsKey(comm)) {
            throw new AssertionError(name + " of 0x" + Long.toHexString(comm) + ", which is not a live communicator");
        }
        return comm;
    }

    private synchronized MemorySegment errorStringSegment(int status) {
        return errorStrings.computeIfAbsent(status, s -> strings.allocateFrom(errorString(s)));
    }

    private static void putInt(Object out, int v) {
        ((MemorySegment) out).reinterpret(4).set(ValueLayout.JAVA_INT, 0, v);
    }

    private static void putLong(Object out, long v) {
        ((MemorySegment) out).reinterpret(8).set(ValueLayout.JAVA_LONG, 0, v);
    }
}
