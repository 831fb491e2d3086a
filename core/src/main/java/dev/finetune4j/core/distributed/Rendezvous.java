package dev.finetune4j.core.distributed;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * How the ranks of a {@link SocketCollective} find each other. Rank 0 listens at the rendezvous address; every other
 * rank connects there (retrying until the connect timeout, since processes start minutes apart), opens its own data
 * listener and says hello. Rank 0 answers each hello with the address of the rank's ring successor once all have
 * come, and the rendezvous connections close.
 *
 * <pre>
 * rank 0 -> joiner  challenge: MAGIC, VERSION, nonce0
 * joiner -> rank 0  hello:     MAGIC, VERSION, rank, worldSize, dataPort, nonceJ, proof("hello", nonce0, fields)
 * rank 0 -> joiner  welcome:   WELCOME, sessionId, successor's address (length, 16 bytes), port,
 *                              proof("welcome", nonceJ, fields)
 *               or  refusal:   REFUSED, length (at most 4096), reason (UTF-8)
 * </pre>
 *
 * <p>Rank 0 refuses, and keeps waiting past, a connection that does not prove the job token (a stray, a port
 * scanner, a rank of another job): it must not be able to stop the job. A proven hello that contradicts the others
 * (another world size, a rank twice or out of range) is a job started wrongly: rank 0 sends the reason to every
 * rank that came and fails. Every size is fixed, so nothing the network claims decides an allocation.
 */
final class Rendezvous {
    private static final Logger LOG = LoggerFactory.getLogger(Rendezvous.class);
    private static final int CHALLENGE_BYTES = 8 + Wire.NONCE_BYTES;
    private static final int HELLO_FIELDS_BYTES = 20 + Wire.NONCE_BYTES;
    /** The size of a joiner's hello: rank 0 reads this many bytes from any connection, and no more. */
    static final int HELLO_BYTES = HELLO_FIELDS_BYTES + Wire.PROOF_BYTES;
    private static final int WELCOME_FIELDS_BYTES = 4 + Wire.NONCE_BYTES + 4 + 16 + 4;
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** How often a rank that waits for the others says so: ranks may start minutes apart. */
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(30);

    /**
     * What a rank takes from the rendezvous into the ring.
     *
     * @param sessionId    this run's random id, which proves a ring connection belongs to it
     * @param successor    where rank {@code rank + 1} (mod world size) listens for this rank's ring connection
     * @param dataListener where this rank's ring predecessor connects; the ring closes it
     */
    record Assignment(byte[] sessionId, InetSocketAddress successor, ServerSocketChannel dataListener) {
    }

    /** A rank that said a proven hello to rank 0 and waits for its welcome. */
    private record Joiner(int rank, SocketChannel channel, InetAddress address, int dataPort, byte[] nonce) {
    }

    /** A hello that rank 0 refuses without failing the job. */
    private static final class Stray extends Exception {
        Stray(String message) {
            super(message, null, false, false);
        }
    }

    private Rendezvous() {
    }

    /**
     * Rank 0's side: listens, welcomes the other ranks, and tells each its ring successor.
     *
     * @param onListening told the port rank 0 listens at (the bound one when the options ask for port 0)
     */
    static Assignment host(SocketCollective.Options options, IntConsumer onListening) {
        long deadline = System.nanoTime() + options.connectTimeout().toNanos();
        InetAddress bindAddress = bindAddress(options.host());
        List<SocketChannel> connections = new ArrayList<>();
        ServerSocketChannel data = null;
        Joiner[] joiners = new Joiner[options.worldSize()];
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            // a job restarted at once finds its port in TIME_WAIT from the run before
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.bind(new InetSocketAddress(bindAddress, options.port()));
            data = ServerSocketChannel.open();
            data.bind(new InetSocketAddress(bindAddress, 0));
            onListening.accept(((InetSocketAddress) listener.getLocalAddress()).getPort());
            SecretKeySpec key = Wire.key(options.token());
            List<String> refused = new ArrayList<>();
            int joined = 0;
            LOG.info("rank 0 of {}: waiting at {} for the other {} ranks to join", options.worldSize(),
                    listener.getLocalAddress(), options.worldSize() - 1);
            while (joined < options.worldSize() - 1) {
                SocketChannel channel = accept(listener, deadline, options, joiners, refused);
                connections.add(channel);
                try {
                    Joiner j = greet(channel, key, options, joiners, deadline);
                    joiners[j.rank] = j;
                    joined++;
                    LOG.info("rank 0 of {}: rank {} joined from {} ({} of {})", options.worldSize(), j.rank,
                            j.address.getHostAddress(), joined, options.worldSize() - 1);
                } catch (Stray e) {
                    refused.add(e.getMessage());
                    LOG.warn("rank 0 refused a connection: {}", e.getMessage());
                    connections.remove(channel);
                    tellEveryone(List.of(channel), e.getMessage());
                    channel.close();
                }
            }
            byte[] session = Wire.nonce();
            int dataPort = ((InetSocketAddress) data.getLocalAddress()).getPort();
            for (int r = 1; r < options.worldSize(); r++) {
                Joiner next = r + 1 < options.worldSize() ? joiners[r + 1] : null;
                // the last rank's successor is rank 0, at the address that rank reached it by: one it can reach
                InetSocketAddress successor = next != null ? new InetSocketAddress(next.address, next.dataPort)
                        : new InetSocketAddress(((InetSocketAddress) joiners[r].channel.getLocalAddress())
                        .getAddress(), dataPort);
                welcome(joiners[r], key, session, successor);
            }
            closeAll(connections);
            return new Assignment(session, new InetSocketAddress(joiners[1].address, joiners[1].dataPort), data);
        } catch (IOException | RuntimeException e) {
            CollectiveException failure = e instanceof CollectiveException c ? c
                    : new CollectiveException(e instanceof IOException io ? describe(io, "rank 0 could not host the "
                    + "rendezvous at port " + options.port() + " (" + e + "): check that MASTER_PORT is free on "
                    + "this machine and that MASTER_ADDR is one of its addresses") : "rank 0 failed while it hosted "
                    + "the rendezvous (" + e + ")", e);
            tellEveryone(connections, failure.getMessage());
            closeAll(connections);
            closeAll(data == null ? List.of() : List.of(data));
            throw failure;
        }
    }

    /**
     * A joining rank's side: connects to rank 0, proves the token, and waits for the welcome.
     */
    static Assignment join(SocketCollective.Options options) {
        long deadline = System.nanoTime() + options.connectTimeout().toNanos();
        String where = "rank 0 at " + options.host() + ":" + options.port();
        SocketChannel channel = connect(options, deadline, where);
        ServerSocketChannel data = null;
        try (channel) {
            data = ServerSocketChannel.open();
            data.bind(new InetSocketAddress(((InetSocketAddress) channel.getLocalAddress()).getAddress(), 0));
            SecretKeySpec key = Wire.key(options.token());
            ByteBuffer challenge = Wire.read(channel, CHALLENGE_BYTES, deadline);
            int magic = challenge.getInt();
            int version = challenge.getInt();
            if (magic != Wire.MAGIC) {
                throw new CollectiveException(where + " is not a finetune4j rank (its answer began with 0x"
                        + Integer.toHexString(magic) + "): check MASTER_ADDR and MASTER_PORT");
            }
            if (version != Wire.VERSION) {
                throw new CollectiveException(where + " speaks protocol version " + version + ", rank "
                        + options.rank() + " version " + Wire.VERSION + ": run one finetune4j version on every rank");
            }
            byte[] challengeNonce = new byte[Wire.NONCE_BYTES];
            challenge.get(challengeNonce);
            byte[] nonce = Wire.nonce();
            ByteBuffer hello = ByteBuffer.allocate(HELLO_BYTES)
                    .putInt(Wire.MAGIC).putInt(Wire.VERSION).putInt(options.rank()).putInt(options.worldSize())
                    .putInt(((InetSocketAddress) data.getLocalAddress()).getPort()).put(nonce);
            hello.put(Wire.proof(key, "hello", challengeNonce, Wire.written(hello)));
            Wire.write(channel, hello);
            return readWelcome(channel, key, nonce, deadline, where, options.rank(), data);
        } catch (SocketTimeoutException e) {
            closeAll(data == null ? List.of() : List.of(data));
            throw new CollectiveException("rank " + options.rank() + " waited " + options.connectTimeout() + " for "
                    + where + " to welcome it: not every rank joined in time (rank 0's log names the missing ones); "
                    + "start every rank, or allow more time (FINETUNE4J_DIST_TIMEOUT)", e);
        } catch (IOException e) {
            closeAll(data == null ? List.of() : List.of(data));
            throw new CollectiveException(describe(e, "rank " + options.rank() + " lost " + where
                    + " during the rendezvous (" + e + "): rank 0 failed or gave up; see rank 0's log"), e);
        } catch (RuntimeException e) {
            closeAll(data == null ? List.of() : List.of(data));
            throw e;
        }
    }

    /** Reads rank 0's answer to this rank's hello: a welcome it checks, or a refusal it throws. */
    private static Assignment readWelcome(SocketChannel channel, SecretKeySpec key, byte[] nonce, long deadline,
                                          String where, int rank, ServerSocketChannel data) throws IOException {
        int status = Wire.read(channel, 4, deadline).getInt();
        if (status == Wire.Status.REFUSED.code) {
            int length = Wire.read(channel, 4, deadline).getInt();
            if (length < 0 || length > Wire.MAX_MESSAGE_BYTES) {
                throw new CollectiveException(where + " refused rank " + rank + " with a reason of " + length
                        + " bytes (at most " + Wire.MAX_MESSAGE_BYTES + "): it is not a finetune4j rank 0");
            }
            String reason = new String(Wire.read(channel, length, deadline).array(), StandardCharsets.UTF_8);
            throw new CollectiveException(where + " refused rank " + rank + ": " + reason);
        }
        if (status != Wire.Status.WELCOME.code) {
            throw new CollectiveException(where + " answered rank " + rank + "'s hello with status " + status
                    + ": it is not a finetune4j rank 0 of protocol version " + Wire.VERSION);
        }
        ByteBuffer rest = Wire.read(channel, WELCOME_FIELDS_BYTES - 4 + Wire.PROOF_BYTES, deadline);
        ByteBuffer fields = ByteBuffer.allocate(WELCOME_FIELDS_BYTES).putInt(status)
                .put(rest.array(), 0, WELCOME_FIELDS_BYTES - 4);
        byte[] proof = Arrays.copyOfRange(rest.array(), WELCOME_FIELDS_BYTES - 4, rest.capacity());
        if (!Wire.proves(proof, Wire.proof(key, "welcome", nonce, fields.array()))) {
            throw new CollectiveException(where + " welcomed rank " + rank + " without proving the job token: it "
                    + "belongs to another job, or the ranks were given different tokens (FINETUNE4J_DIST_TOKEN)");
        }
        byte[] session = new byte[Wire.NONCE_BYTES];
        rest.get(session);
        int addressLength = rest.getInt();
        if (addressLength != 4 && addressLength != 16) {
            throw new CollectiveException(where + " sent rank " + rank + " an address of " + addressLength
                    + " bytes (4 or 16 expected): it is not a finetune4j rank 0 of protocol version " + Wire.VERSION);
        }
        byte[] address = new byte[16];
        rest.get(address);
        InetAddress successor = InetAddress.getByAddress(Arrays.copyOf(address, addressLength));
        return new Assignment(session, new InetSocketAddress(successor, rest.getInt()), data);
    }

    /** Waits for the next connection; when the deadline passes first, fails naming the ranks still missing. */
    private static SocketChannel accept(ServerSocketChannel listener, long deadline, SocketCollective.Options options,
                                        Joiner[] joiners, List<String> refused) throws IOException {
        List<Integer> missing = new ArrayList<>();
        for (int r = 1; r < joiners.length; r++) {
            if (joiners[r] == null) {
                missing.add(r);
            }
        }
        for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
            try {
                listener.socket().setSoTimeout((int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(
                        Math.min(left, PROGRESS_NANOS)), 1, Integer.MAX_VALUE));
                return listener.socket().accept().getChannel();
            } catch (SocketTimeoutException e) {
                if (deadline - System.nanoTime() > 0) {
                    LOG.info("rank 0 of {}: still waiting for ranks {} to join ({} s left of {})",
                            options.worldSize(), missing, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()),
                            options.connectTimeout());
                }
            }
        }
        throw new CollectiveException("rank 0 waited " + options.connectTimeout() + " at port " + options.port()
                + " for ranks " + missing + " to join" + (refused.isEmpty() ? "" : "; it refused " + refused)
                + ": start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE=" + options.worldSize()
                + ", or allow more time (FINETUNE4J_DIST_TIMEOUT)");
    }

    /**
     * Challenges a new connection and reads its hello.
     *
     * @throws Stray               when the connection does not prove the job token; the job goes on
     * @throws CollectiveException when a proven hello contradicts the job; the job fails
     */
    private static Joiner greet(SocketChannel channel, SecretKeySpec key, SocketCollective.Options options,
                                Joiner[] joiners, long deadline) throws Stray, IOException {
        String from = String.valueOf(channel.getRemoteAddress());
        byte[] challenge = Wire.nonce();
        ByteBuffer hello;
        try {
            Wire.write(channel, ByteBuffer.allocate(CHALLENGE_BYTES).putInt(Wire.MAGIC).putInt(Wire.VERSION)
                    .put(challenge));
            hello = Wire.read(channel, HELLO_BYTES,
                    Math.min(deadline, System.nanoTime() + Wire.HELLO_TIMEOUT_NANOS));
        } catch (ClosedByInterruptException e) {
            throw e;
        } catch (IOException e) {
            throw new Stray("a connection from " + from + " sent no complete hello (" + e.getMessage() + ")");
        }
        int magic = hello.getInt();
        int version = hello.getInt();
        int rank = hello.getInt();
        int worldSize = hello.getInt();
        int dataPort = hello.getInt();
        byte[] nonce = new byte[Wire.NONCE_BYTES];
        hello.get(nonce);
        byte[] proof = new byte[Wire.PROOF_BYTES];
        hello.get(proof);
        if (magic != Wire.MAGIC) {
            throw new Stray("a connection from " + from + " does not speak finetune4j's protocol (it began with 0x"
                    + Integer.toHexString(magic) + ")");
        }
        if (version != Wire.VERSION) {
            throw new Stray("a rank from " + from + " speaks protocol version " + version + ", rank 0 version "
                    + Wire.VERSION + ": run one finetune4j version on every rank");
        }
        if (!Wire.proves(proof, Wire.proof(key, "hello", challenge, Arrays.copyOf(hello.array(),
                HELLO_FIELDS_BYTES)))) {
            throw new Stray("a connection from " + from + " did not prove the job token: give every rank the same "
                    + "FINETUNE4J_DIST_TOKEN");
        }
        int size = options.worldSize();
        if (worldSize != size) {
            throw new CollectiveException("rank " + rank + " (from " + from + ") was started with a world of "
                    + worldSize + " ranks, rank 0 with " + size + ": give every rank the same WORLD_SIZE");
        }
        if (rank == 0 || (rank > 0 && rank < size && joiners[rank] != null)) {
            String first = rank == 0 ? "rank 0 itself" : "one from " + joiners[rank].address;
            throw new CollectiveException("two processes claim rank " + rank + " (" + first + " and one from "
                    + from + "): give each process its own RANK, 0 to " + (size - 1));
        }
        if (rank < 0 || rank >= size) {
            throw new CollectiveException("a process from " + from + " claims rank " + rank + ", but a world of "
                    + size + " has ranks 0 to " + (size - 1) + ": give each process its own RANK below WORLD_SIZE");
        }
        if (dataPort < 1 || dataPort > 65535) {
            throw new CollectiveException("rank " + rank + " (from " + from + ") says it listens at port "
                    + dataPort + ", which is no TCP port: it is not a finetune4j rank of protocol version "
                    + Wire.VERSION);
        }
        InetAddress address = ((InetSocketAddress) channel.getRemoteAddress()).getAddress();
        return new Joiner(rank, channel, address, dataPort, nonce);
    }

    /** Sends a joiner its welcome: the session id and its ring successor's address, proven with the token. */
    private static void welcome(Joiner joiner, SecretKeySpec key, byte[] session, InetSocketAddress successor) {
        byte[] address = successor.getAddress().getAddress();
        ByteBuffer w = ByteBuffer.allocate(WELCOME_FIELDS_BYTES + Wire.PROOF_BYTES).putInt(Wire.Status.WELCOME.code)
                .put(session).putInt(address.length).put(Arrays.copyOf(address, 16)).putInt(successor.getPort());
        w.put(Wire.proof(key, "welcome", joiner.nonce, Wire.written(w)));
        try {
            Wire.write(joiner.channel, w);
        } catch (IOException e) {
            throw new CollectiveException(describe(e, "rank " + joiner.rank + " (from " + joiner.address + ") left "
                    + "before every rank had joined (" + e + "): see its log, and restart every rank"), e);
        }
    }

    /** Connects to rank 0, retrying until the deadline: rank 0 may start after this rank. */
    private static SocketChannel connect(SocketCollective.Options options, long deadline, String where) {
        IOException last = null;
        long nextProgress = System.nanoTime() + PROGRESS_NANOS;
        LOG.info("rank {} of {}: joining {}", options.rank(), options.worldSize(), where);
        while (true) {
            if (System.nanoTime() - nextProgress > 0) {
                LOG.info("rank {} of {}: still trying to reach {} ({} s left; last: {})", options.rank(),
                        options.worldSize(), where, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()), last);
                nextProgress += PROGRESS_NANOS;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new CollectiveException("rank " + options.rank() + " could not reach " + where + " within "
                        + options.connectTimeout() + " (last: " + last + "): start rank 0 with the same MASTER_ADDR "
                        + "and MASTER_PORT, check the address and the firewall, or allow more time "
                        + "(FINETUNE4J_DIST_TIMEOUT)", last);
            }
            try {
                InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
                if (address.isUnresolved()) {
                    throw new UnknownHostException(options.host() + " does not resolve (yet)");
                }
                SocketChannel channel = SocketChannel.open();
                try {
                    channel.socket().connect(address, (int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(left), 1,
                            Integer.MAX_VALUE));
                    return channel;
                } catch (IOException e) {
                    channel.close();
                    throw e;
                }
            } catch (ClosedByInterruptException e) {
                throw new CollectiveException(describe(e, ""), e);
            } catch (IOException e) {
                last = e;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(Math.min(RETRY_NANOS, Math.max(0, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CollectiveException("rank " + options.rank() + " was interrupted while it waited for "
                        + where, e);
            }
        }
    }

    /** Rank 0 listens on the loopback interface for a loopback address, else on every interface. */
    private static InetAddress bindAddress(String host) {
        try {
            InetAddress address = InetAddress.getByName(host);
            return address.isLoopbackAddress() ? address : null;
        } catch (UnknownHostException e) {
            throw new CollectiveException("rank 0 cannot resolve its own address " + host + " (MASTER_ADDR): "
                    + "give a host name or address of this machine", e);
        }
    }

    /** Tells every rank that came why the rendezvous failed, so each fails with the reason. */
    private static void tellEveryone(List<SocketChannel> connections, String reason) {
        for (SocketChannel c : connections) {
            try {
                Wire.write(c, Wire.refusal(reason));
            } catch (IOException e) {
                // that rank has gone already; the others still hear the reason
            }
        }
    }

    /** The message for an I/O failure: an interrupt says so, and the interrupt stays set. */
    static String describe(IOException e, String otherwise) {
        if (e instanceof ClosedByInterruptException || Thread.currentThread().isInterrupted()) {
            Thread.currentThread().interrupt();
            return "interrupted while the ranks connected: the collective was not created";
        }
        return otherwise;
    }

    /** Closes each, keeping going past failures: used on failure paths, where the first failure is what counts. */
    static void closeAll(List<? extends AutoCloseable> resources) {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception e) {
                // closing a socket that failed: nothing left to do
            }
        }
    }
}
