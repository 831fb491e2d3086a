package dev.finetune4j.core.distributed;

import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A rank's two connections in the ring: to its successor (rank + 1, mod the world size), which it only writes, and
 * from its predecessor (rank - 1), which it only reads. {@link #exchange} moves bytes both ways at once on one
 * thread (non-blocking channels and a selector), so a rank never waits on a send its neighbour is not yet reading.
 *
 * <p>The first failure (a lost connection, a timeout, {@link #close}) closes both connections: the neighbours then
 * fail too, and so on around the ring, so every rank leaves its operation instead of waiting for the operation
 * timeout. Later calls fail with that first failure. An interrupt does not end an exchange (as for
 * {@link LocalCollective}: a trainer stops every rank after the step in which one was interrupted); the thread's
 * interrupt status is set again when the exchange returns.
 *
 * <pre>
 * ring hello (rank -> successor): MAGIC, VERSION, rank, proof("ring", sessionId, fields)
 * ack (successor -> rank):        MAGIC
 * </pre>
 */
final class RingLinks implements AutoCloseable {
    private static final int RING_HELLO_FIELDS_BYTES = 12;

    private final int rank;
    private final int worldSize;
    private final long timeoutNanos;
    private final SocketChannel successor;
    private final SocketChannel predecessor;
    private final Selector selector;
    private final SelectionKey toSuccessor;
    private final SelectionKey fromPredecessor;
    private volatile String failure;

    /** Links over two channels registered with {@code selector}, or none (all null) for a world of one. */
    private RingLinks(int rank, int worldSize, Duration timeout, SocketChannel successor, SocketChannel predecessor,
                      Selector selector) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeoutNanos = timeout.toNanos();
        this.successor = successor;
        this.predecessor = predecessor;
        this.selector = selector;
        this.toSuccessor = selector == null ? null : successor.keyFor(selector);
        this.fromPredecessor = selector == null ? null : predecessor.keyFor(selector);
    }

    /** The links of a world of one: no neighbours, nothing to exchange. */
    static RingLinks alone(Duration timeout) {
        return new RingLinks(0, 1, timeout, null, null, null);
    }

    /**
     * Connects this rank to its successor and accepts its predecessor, each proving the session of the rendezvous.
     * Closes the data listener; on failure, closes everything it opened.
     */
    static RingLinks connect(int rank, int worldSize, String token, Rendezvous.Assignment assignment,
                             Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        SecretKeySpec key = Wire.key(token);
        int next = (rank + 1) % worldSize;
        int previous = (rank - 1 + worldSize) % worldSize;
        List<AutoCloseable> opened = new ArrayList<>();
        try (ServerSocketChannel listener = assignment.dataListener()) {
            SocketChannel successor = SocketChannel.open();
            opened.add(successor);
            InetSocketAddress to = assignment.successor();
            try {
                successor.socket().connect(to, millisLeft(deadline));
            } catch (IOException e) {
                if (e instanceof ClosedByInterruptException) {
                    throw e;
                }
                throw new CollectiveException("rank " + rank + " cannot reach rank " + next + " (its ring successor) "
                        + "at " + to + " (" + e + "): the ranks connect to each other at ports they choose, so "
                        + "the firewall must let the ranks' machines reach each other on any port", e);
            }
            ByteBuffer hello = ByteBuffer.allocate(RING_HELLO_FIELDS_BYTES + Wire.PROOF_BYTES)
                    .putInt(Wire.MAGIC).putInt(Wire.VERSION).putInt(rank);
            hello.put(Wire.proof(key, "ring", assignment.sessionId(), Wire.written(hello)));
            Wire.write(successor, hello);
            SocketChannel predecessor = acceptPredecessor(listener, key, assignment.sessionId(), rank, previous,
                    deadline);
            opened.add(predecessor);
            Wire.write(predecessor, ByteBuffer.allocate(4).putInt(Wire.MAGIC));
            if (Wire.read(successor, 4, deadline).getInt() != Wire.MAGIC) {
                throw new CollectiveException("rank " + next + " answered rank " + rank + "'s ring hello with "
                        + "something other than finetune4j's acknowledgement");
            }
            for (SocketChannel c : List.of(successor, predecessor)) {
                c.configureBlocking(false);
                c.socket().setTcpNoDelay(true);
            }
            Selector selector = Selector.open();
            opened.add(selector);
            successor.register(selector, 0);
            predecessor.register(selector, 0);
            return new RingLinks(rank, worldSize, timeout, successor, predecessor, selector);
        } catch (IOException e) {
            Rendezvous.closeAll(opened);
            throw new CollectiveException(Rendezvous.describe(e, "rank " + rank + " could not connect the ring "
                    + "with rank " + previous + " and rank " + next + " (" + e + "): a rank failed while the ranks "
                    + "connected; see the other ranks' logs"), e);
        } catch (RuntimeException e) {
            Rendezvous.closeAll(opened);
            throw e;
        }
    }

    /** Accepts connections until one is the predecessor's proven ring hello; strays are closed. */
    private static SocketChannel acceptPredecessor(ServerSocketChannel listener, SecretKeySpec key, byte[] session,
                                                   int rank, int previous, long deadline) throws IOException {
        List<String> refused = new ArrayList<>();
        while (true) {
            SocketChannel channel = null;
            try {
                if (deadline - System.nanoTime() > 0) {
                    listener.socket().setSoTimeout(millisLeft(deadline));
                    channel = listener.socket().accept().getChannel();
                }
            } catch (SocketTimeoutException e) {
                // the deadline passed: reported below
            }
            if (channel == null) {
                throw new CollectiveException("rank " + rank + " waited for rank " + previous + " (its ring "
                        + "predecessor) to connect, in vain" + (refused.isEmpty() ? "" : "; it refused " + refused)
                        + ": rank " + previous + " failed or cannot reach this machine; see its log");
            }
            String why;
            try {
                ByteBuffer hello = Wire.read(channel, RING_HELLO_FIELDS_BYTES + Wire.PROOF_BYTES,
                        Math.min(deadline, System.nanoTime() + Wire.HELLO_TIMEOUT_NANOS));
                byte[] fields = Arrays.copyOf(hello.array(), RING_HELLO_FIELDS_BYTES);
                byte[] proof = Arrays.copyOfRange(hello.array(), RING_HELLO_FIELDS_BYTES, hello.capacity());
                int claimed = hello.getInt(8);
                if (Wire.proves(proof, Wire.proof(key, "ring", session, fields)) && claimed == previous) {
                    return channel;
                }
                why = "a connection from " + channel.getRemoteAddress() + " did not prove to be rank " + previous;
            } catch (ClosedByInterruptException e) {
                channel.close();
                throw e;
            } catch (IOException e) {
                why = "a connection sent no complete ring hello (" + e.getMessage() + ")";
            }
            refused.add(why);
            channel.close();
        }
    }

    /**
     * Sends {@code out}'s remaining bytes to the successor while filling {@code in} from the predecessor, until both
     * are done; either may be null. Fails when no byte moves for the operation timeout.
     *
     * @param during the operation, for the messages
     * @throws CollectiveException when a connection is lost or times out, the thread is interrupted, or the links
     *                             were closed; the links are closed from then on
     */
    void exchange(ByteBuffer out, ByteBuffer in, String during) {
        requireOpen();
        long idleSince = System.nanoTime();
        // NOTE: a set interrupt status makes every select return at once; it is cleared while the bytes move and set
        // again afterwards (non-blocking channels are not closed by an interrupt)
        boolean interrupted = Thread.interrupted();
        try {
            while (remains(out) || remains(in)) {
                boolean moved = false;
                if (remains(out)) {
                    moved = write(out, during) > 0;
                }
                if (remains(in)) {
                    moved |= read(in, during) > 0;
                }
                if (moved) {
                    idleSince = System.nanoTime();
                    continue;
                }
                long left = idleSince + timeoutNanos - System.nanoTime();
                if (left <= 0) {
                    int peer = remains(in) ? (rank - 1 + worldSize) % worldSize : (rank + 1) % worldSize;
                    throw fail("rank " + rank + " waited " + Duration.ofNanos(timeoutNanos) + " at " + during
                            + " for rank " + peer + (remains(in) ? " to send" : " to take") + " data: a rank is "
                            + "stuck, slower than the operation timeout, or calls the operations in another order",
                            null);
                }
                toSuccessor.interestOps(remains(out) ? SelectionKey.OP_WRITE : 0);
                fromPredecessor.interestOps(remains(in) ? SelectionKey.OP_READ : 0);
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                selector.selectedKeys().clear();
                interrupted |= Thread.interrupted();
                requireOpen();
            }
        } catch (ClosedSelectorException | CancelledKeyException | IOException e) {
            requireOpen();
            throw fail("rank " + rank + " failed at " + during + " (" + e + ")", e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private int write(ByteBuffer out, String during) {
        try {
            return successor.write(out);
        } catch (IOException e) {
            throw lost((rank + 1) % worldSize, "successor", during, e);
        }
    }

    private int read(ByteBuffer in, String during) {
        int previous = (rank - 1 + worldSize) % worldSize;
        try {
            int n = predecessor.read(in);
            if (n < 0) {
                throw lost(previous, "predecessor", during, null);
            }
            return n;
        } catch (IOException e) {
            throw lost(previous, "predecessor", during, e);
        }
    }

    private CollectiveException lost(int peer, String role, String during, IOException cause) {
        requireOpen();
        return fail("rank " + rank + " lost its connection to rank " + peer + " (its ring " + role + ") at " + during
                + ": rank " + peer + ", or a rank beyond it, failed or was closed; the run cannot go on: find the "
                + "first failure in the ranks' logs and restart every rank", cause);
    }

    /** Fails unless the links are still open, with the failure that closed them. */
    void requireOpen() {
        String why = failure;
        if (why != null) {
            throw new CollectiveException("rank " + rank + " of the socket group cannot go on: " + why);
        }
    }

    /** Records the first failure and closes the connections, so the neighbours fail too. */
    synchronized CollectiveException fail(String why, Throwable cause) {
        if (failure == null) {
            failure = why;
            Rendezvous.closeAll(selector == null ? List.of() : List.of(selector, successor, predecessor));
        }
        return new CollectiveException("rank " + rank + " of the socket group cannot go on: " + failure, cause);
    }

    private static boolean remains(ByteBuffer b) {
        return b != null && b.hasRemaining();
    }

    private static int millisLeft(long deadline) {
        return (int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()), 1, Integer.MAX_VALUE);
    }

    /** Leaves the ring: the neighbours' operations fail from now on. Idempotent; any thread may call it. */
    @Override
    public void close() {
        fail("rank " + rank + " was closed", null);
    }
}
