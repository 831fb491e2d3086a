package dev.finetune4j.core.distributed;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The ranks of a data-parallel run as processes, on one machine or many, connected over TCP in a ring. Rank 0
 * listens at the rendezvous address; the others connect there, prove the job token, and learn where their ring
 * neighbours listen, each at a port it chose. Launch one process per rank with the variables torchrun sets, and
 * join with {@link #fromEnvironment()}:
 *
 * <pre>{@code
 * // RANK=1 WORLD_SIZE=4 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 FINETUNE4J_DIST_TOKEN=... java ...
 * try (Collective ranks = SocketCollective.fromEnvironment()) {
 *     // train this rank's replica with ranks
 * }
 * }</pre>
 *
 * <p>{@code allReduceSum} runs the ring algorithm: the buffer is cut into {@code worldSize} chunks of nearly equal
 * length; in {@code worldSize - 1} steps each rank passes a chunk's partial sum to its successor, which adds its own
 * values (reduce-scatter), then in {@code worldSize - 1} more steps each chunk's finished sum goes around as bytes
 * (all-gather). Each rank sends and receives about twice the buffer, whatever the number of ranks. Summation order:
 * chunk {@code c} is added in ring order starting at rank {@code c}, {@code ((x[c] + x[c+1]) + ...) + x[c-1]}
 * (ranks mod {@code worldSize}), in float32, once; every rank then receives those bytes, so the result is bit-for-bit
 * the same on every rank. For two ranks that is the rank order of {@link LocalCollective}; for more it is not, so the
 * two transports may differ in the last bits. {@code broadcast} passes the root's bytes around the ring in pieces,
 * each rank forwarding a piece as soon as it has it.
 *
 * <p>Every operation first passes each rank's call (operation, root, size) around the ring, so a rank that passed
 * another size or called another operation fails every rank with what each had, before any data moves. A lost
 * connection, a timeout or {@link #close()} closes this rank's connections, so its neighbours fail at once too.
 *
 * <p>The job token keeps out connections that cannot prove it (a stray, a scanner, a rank of another job): rank 0
 * refuses them and keeps waiting for the real ranks. It is proven, never sent, but it does not encrypt: gradients
 * cross the network in clear, so run the ranks on a network you trust.
 *
 * <p>One thread at a time calls the operations; {@link #close()} may be called from any thread and makes an
 * operation in progress fail.
 */
public final class SocketCollective extends HostCollective {
    private static final int PIECE_BYTES = 1 << 20;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int rank;
    private final int worldSize;
    private final RingLinks links;
    // the partial sums a reduce-scatter step receives, one piece at a time. Direct and freed by the GC rather than
    // by close(): close() may come from another thread while an operation still reads into it.
    private final ByteBuffer received;

    private SocketCollective(int rank, int worldSize, RingLinks links) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.links = links;
        this.received = worldSize == 1 ? null : ByteBuffer.allocateDirect(PIECE_BYTES).order(ByteOrder.nativeOrder());
    }

    /**
     * Joins the group the options describe: rank 0 listens and waits for the others; every other rank connects,
     * retrying until the connect timeout. Returns once every rank has joined and the ring is connected. A world of
     * one opens no connection.
     *
     * @param options this rank, the world size, the rendezvous address, the timeouts and the job token
     * @return this rank's member of the group
     * @throws CollectiveException when the ranks do not all join within the connect timeout, rank 0 refuses this
     *                             rank (another token, world size or a rank taken twice), or a rank fails meanwhile
     */
    public static SocketCollective connect(Options options) {
        return connect(options, port -> { });
    }

    /**
     * {@link #connect(Options)}, telling rank 0's listening port to {@code onListening} before it waits for the
     * others (tests let rank 0 choose a free port with port 0).
     */
    static SocketCollective connect(Options options, IntConsumer onListening) {
        if (options.worldSize() == 1) {
            return new SocketCollective(0, 1, RingLinks.alone(options.operationTimeout()));
        }
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("SocketCollective sends tensors as they lie in memory, "
                    + "little-endian; this machine is big-endian");
        }
        Rendezvous.Assignment assignment = options.rank() == 0 ? Rendezvous.host(options, onListening)
                : Rendezvous.join(options);
        RingLinks links = RingLinks.connect(options.rank(), options.worldSize(), options.token(), assignment,
                options.operationTimeout());
        return new SocketCollective(options.rank(), options.worldSize(), links);
    }

    /**
     * Joins the group the process environment describes, with torchrun's variables: {@code RANK},
     * {@code WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}, each overridden by the same name prefixed with
     * {@code FINETUNE4J_}, and {@code FINETUNE4J_DIST_TOKEN} (the job token) and {@code FINETUNE4J_DIST_TIMEOUT}
     * (seconds, both timeouts; default 1800).
     *
     * @return this rank's member of the group
     * @throws IllegalArgumentException when a variable is missing or malformed, naming it with an example
     * @throws CollectiveException      as {@link #connect(Options)}
     */
    public static SocketCollective fromEnvironment() {
        return connect(Options.fromEnvironment(System.getenv()));
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    protected void allReduceSum(MemorySegment floats) {
        Call call = new Call(Call.ALL_REDUCE, 0, floats.byteSize());
        agree(call);
        long n = floats.byteSize() / Float.BYTES;
        for (int step = 0; step < worldSize - 1; step++) {
            exchangeInPieces(chunk(floats, n, rank - step), chunk(floats, n, rank - step - 1), true, call);
        }
        for (int step = 0; step < worldSize - 1; step++) {
            exchangeInPieces(chunk(floats, n, rank + 1 - step), chunk(floats, n, rank - step), false, call);
        }
    }

    @Override
    protected void broadcast(MemorySegment bytes, int root) {
        Call call = new Call(Call.BROADCAST, root, bytes.byteSize());
        agree(call);
        int position = Math.floorMod(rank - root, worldSize);
        boolean receives = position != 0;
        boolean forwards = position != worldSize - 1;
        if (!receives && !forwards) {
            return;
        }
        long pieces = Math.ceilDiv(bytes.byteSize(), PIECE_BYTES);
        int lag = receives ? 1 : 0; // a piece is forwarded in the step after it arrived
        for (long k = 0; k < pieces + lag; k++) {
            long forwarded = k - lag;
            ByteBuffer out = forwards && forwarded >= 0 && forwarded < pieces ? piece(bytes, forwarded) : null;
            ByteBuffer in = receives && k < pieces ? piece(bytes, k) : null;
            links.exchange(out, in, call.describe());
        }
    }

    @Override
    public void barrier() {
        agree(new Call(Call.BARRIER, 0, 0));
    }

    @Override
    public void close() {
        links.close();
    }

    /**
     * Passes every rank's call around the ring (an all-gather of 16 bytes a rank) and fails every rank alike when
     * they differ. Once it returns, every rank has entered the operation.
     */
    private void agree(Call mine) {
        links.requireOpen();
        ByteBuffer calls = ByteBuffer.allocate(worldSize * Call.BYTES);
        mine.writeTo(calls, rank);
        for (int step = 0; step < worldSize - 1; step++) {
            int sent = Math.floorMod(rank - step, worldSize);
            int got = Math.floorMod(rank - step - 1, worldSize);
            links.exchange(calls.slice(sent * Call.BYTES, Call.BYTES), calls.slice(got * Call.BYTES, Call.BYTES),
                    mine.describe());
        }
        List<String> each = new ArrayList<>();
        boolean same = true;
        for (int r = 0; r < worldSize; r++) {
            Call theirs = Call.readFrom(calls, r);
            same &= theirs.equals(mine);
            each.add("rank " + r + ": " + theirs.describe());
        }
        if (!same) {
            throw links.fail("the ranks called different operations (" + String.join("; ", each) + "): every rank "
                    + "must call the same operations in the same order with the same sizes", null);
        }
    }

    /**
     * Sends {@code out} to the successor while receiving {@code in}'s length from the predecessor, a piece at a time:
     * into {@code in}, or, when {@code add}, added to {@code in} (received partial sum + this rank's values).
     */
    private void exchangeInPieces(MemorySegment out, MemorySegment in, boolean add, Call call) {
        long longest = Math.max(out.byteSize(), in.byteSize());
        for (long at = 0; at < longest; at += PIECE_BYTES) {
            ByteBuffer send = piece(out, at / PIECE_BYTES);
            ByteBuffer receive = piece(in, at / PIECE_BYTES);
            if (add && receive != null) {
                received.clear().limit(receive.remaining());
                receive = received;
            }
            links.exchange(send, receive, call.describe());
            if (add && receive != null) {
                addInPlace(MemorySegment.ofBuffer(received.flip()), in.asSlice(at, received.remaining()));
            }
        }
    }

    /** {@code own[i] = partial[i] + own[i]}: the running sum comes first, as the summation order says. */
    private static void addInPlace(MemorySegment partial, MemorySegment own) {
        long n = own.byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) {
            own.setAtIndex(FLOAT, i, partial.getAtIndex(FLOAT, i) + own.getAtIndex(FLOAT, i));
        }
    }

    /** Chunk {@code c} (mod the world size) of {@code n} floats: near-equal lengths, the first ones one longer. */
    private MemorySegment chunk(MemorySegment floats, long n, int c) {
        int index = Math.floorMod(c, worldSize);
        long base = n / worldSize;
        long extra = n % worldSize;
        long start = index * base + Math.min(index, extra);
        long length = base + (index < extra ? 1 : 0);
        return floats.asSlice(start * Float.BYTES, length * Float.BYTES);
    }

    /** Piece {@code k} of a segment as a buffer, or null past its end. */
    private static ByteBuffer piece(MemorySegment segment, long k) {
        long at = k * PIECE_BYTES;
        if (at >= segment.byteSize()) {
            return null;
        }
        return segment.asSlice(at, Math.min(PIECE_BYTES, segment.byteSize() - at)).asByteBuffer();
    }

    /** One rank's call of an operation, as the ranks compare them: 16 bytes on the wire. */
    private record Call(int operation, int root, long bytes) {
        static final int BYTES = 16;
        static final int ALL_REDUCE = 1;
        static final int BROADCAST = 2;
        static final int BARRIER = 3;

        void writeTo(ByteBuffer calls, int rank) {
            int at = rank * BYTES;
            calls.putInt(at, operation).putInt(at + 4, root).putLong(at + 8, bytes);
        }

        static Call readFrom(ByteBuffer calls, int rank) {
            int at = rank * BYTES;
            return new Call(calls.getInt(at), calls.getInt(at + 4), calls.getLong(at + 8));
        }

        String describe() {
            return switch (operation) {
                case ALL_REDUCE -> "allReduceSum of " + bytes + " bytes";
                case BROADCAST -> "broadcast from rank " + root + " of " + bytes + " bytes";
                case BARRIER -> "barrier";
                default -> "operation #" + operation + " (not one of this version's)";
            };
        }
    }

    /**
     * How a rank joins its group.
     *
     * @param rank             this process's rank, {@code 0 <= rank < worldSize}
     * @param worldSize        the number of ranks, at least 1
     * @param host             rank 0's host name or address; rank 0 listens on every interface, or only on the
     *                         loopback one when this is a loopback address
     * @param port             the rendezvous port rank 0 listens at; 0 lets rank 0 choose a free one (only useful
     *                         when the others learn it some other way)
     * @param connectTimeout   how long the ranks wait for each other to join
     * @param operationTimeout how long an operation waits without any data moving before it fails on every rank
     * @param token            the job's shared secret, which every rank must prove to join (never sent); empty for
     *                         none, when any process that speaks the protocol could join
     */
    public record Options(int rank, int worldSize, String host, int port, Duration connectTimeout,
                          Duration operationTimeout, String token) {

        /** The most ranks a group may have: far more than a ring serves well, and few enough to allocate for. */
        public static final int MAX_WORLD_SIZE = 1 << 16;

        /** The timeouts when none are given: 30 minutes each. */
        public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException naming the value that is wrong
         */
        public Options {
            if (worldSize < 1 || worldSize > MAX_WORLD_SIZE) {
                throw new IllegalArgumentException("worldSize must be from 1 to " + MAX_WORLD_SIZE + ", not "
                        + worldSize);
            }
            if (rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("rank " + rank + " is not a rank of a world of " + worldSize
                        + " (ranks 0 to " + (worldSize - 1) + ")");
            }
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("host must name rank 0's machine, e.g. \"10.0.0.1\", not '"
                        + host + "'");
            }
            if (port < 0 || port > 65535 || (port == 0 && rank != 0 && worldSize > 1)) {
                throw new IllegalArgumentException("port " + port + " is not rank 0's rendezvous port: give a port "
                        + "from 1 to 65535, e.g. 29500");
            }
            requirePositive(connectTimeout, "connectTimeout");
            requirePositive(operationTimeout, "operationTimeout");
            if (token == null) {
                throw new IllegalArgumentException("token must not be null: pass \"\" for a job without one");
            }
        }

        /**
         * Options with the default timeouts and no token.
         *
         * @param rank      this process's rank
         * @param worldSize the number of ranks
         * @param host      rank 0's host name or address
         * @param port      the rendezvous port rank 0 listens at
         * @return the options
         */
        public static Options of(int rank, int worldSize, String host, int port) {
            return new Options(rank, worldSize, host, port, DEFAULT_TIMEOUT, DEFAULT_TIMEOUT, "");
        }

        /**
         * The options torchrun-style variables describe (see {@link SocketCollective#fromEnvironment()}).
         *
         * @param environment the variables, e.g. {@link System#getenv()}
         * @return the options
         * @throws IllegalArgumentException when a variable is missing or malformed, naming it with an example
         */
        public static Options fromEnvironment(Map<String, String> environment) {
            return LaunchEnvironment.options(environment);
        }

        /**
         * A copy with another job token.
         *
         * @param newToken the job's shared secret; empty for none
         * @return these options with that token
         */
        public Options withToken(String newToken) {
            return new Options(rank, worldSize, host, port, connectTimeout, operationTimeout, newToken);
        }

        /**
         * A copy with other timeouts.
         *
         * @param connect   how long the ranks wait for each other to join
         * @param operation how long an operation waits without any data moving
         * @return these options with those timeouts
         */
        public Options withTimeouts(Duration connect, Duration operation) {
            return new Options(rank, worldSize, host, port, connect, operation, token);
        }

        /** @return the options, the token hidden */
        @Override
        public String toString() {
            return "Options[rank=" + rank + ", worldSize=" + worldSize + ", host=" + host + ", port=" + port
                    + ", connectTimeout=" + connectTimeout + ", operationTimeout=" + operationTimeout + ", token="
                    + (token.isEmpty() ? "none" : "(hidden)") + "]";
        }

        private static void requirePositive(Duration d, String name) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, not " + d);
            }
        }
    }
}
