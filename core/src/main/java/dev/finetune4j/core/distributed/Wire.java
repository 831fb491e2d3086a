package dev.finetune4j.core.distributed;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

/**
 * What {@link SocketCollective}'s handshakes share: the protocol's magic and version, proofs that a message was
 * written by a holder of the job token, and blocking reads of a known number of bytes before a deadline.
 *
 * <p>A proof is HMAC-SHA256, keyed by the job token, over a label, a fresh nonce of the reader's and the message's
 * fields: it shows the writer knows the token without sending it, and cannot be replayed to another handshake. A
 * job without a token uses a fixed key, so its proofs still catch a peer of another protocol, but not a hostile one.
 * The handshakes' integers are big-endian (a {@link ByteBuffer}'s default).
 */
final class Wire {
    /** "F4JD": the first four bytes of every handshake message. */
    static final int MAGIC = 0x46344A44;
    /** The version of the handshakes and of the ring's data layout; ranks of other versions are refused. */
    static final int VERSION = 1;
    static final int NONCE_BYTES = 16;
    static final int PROOF_BYTES = 32;
    /** The longest refusal message a rank reads; a longer claimed length is not a finetune4j peer. */
    static final int MAX_MESSAGE_BYTES = 4096;
    /** How long one connection may take to say who it is, so a silent stray cannot stall a rendezvous. */
    static final long HELLO_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final SecureRandom RANDOM = new SecureRandom();

    private Wire() {
    }

    /** @return fresh random bytes, for one handshake's nonce or a job's session id */
    static byte[] nonce() {
        byte[] b = new byte[NONCE_BYTES];
        RANDOM.nextBytes(b);
        return b;
    }

    /** The key of a job's proofs; the prefix keeps a job without a token (an empty one) keyed. */
    static SecretKeySpec key(String token) {
        return new SecretKeySpec(("finetune4j-dist/" + token).getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    }

    /**
     * @param key   the job's key
     * @param label which message the proof is for, so one message's proof is never valid for another
     * @param parts the bytes the proof covers, in order
     * @return the HMAC-SHA256 of the label and the parts
     */
    static byte[] proof(SecretKeySpec key, String label, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(label.getBytes(StandardCharsets.UTF_8));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no HmacSHA256, which every Java SE runtime provides", e);
        }
    }

    /** Compares a received proof with the expected one in constant time. */
    static boolean proves(byte[] received, byte[] expected) {
        return MessageDigest.isEqual(received, expected);
    }

    /** The bytes a buffer holds between its start and its position (what was written into it so far). */
    static byte[] written(ByteBuffer b) {
        byte[] out = new byte[b.position()];
        b.get(0, out);
        return out;
    }

    /**
     * Reads exactly {@code bytes} bytes from a blocking channel, failing when the deadline passes first (each read
     * waits only for the time left, so a peer trickling bytes cannot extend it).
     *
     * @return a buffer of {@code bytes} bytes, positioned at 0
     * @throws SocketTimeoutException when the deadline passed
     * @throws EOFException           when the peer closed the connection first
     */
    static ByteBuffer read(SocketChannel channel, int bytes, long deadlineNanos) throws IOException {
        byte[] b = new byte[bytes];
        int at = 0;
        while (at < bytes) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("no complete message within the time allowed (" + at + " of "
                        + bytes + " bytes came)");
            }
            channel.socket().setSoTimeout((int) Math.clamp(TimeUnit.NANOSECONDS.toMillis(left), 1, Integer.MAX_VALUE));
            int n = channel.socket().getInputStream().read(b, at, bytes - at);
            if (n < 0) {
                throw new EOFException("the peer closed the connection after " + at + " of " + bytes + " bytes");
            }
            at += n;
        }
        return ByteBuffer.wrap(b);
    }

    /** Writes the buffer's bytes from 0 to its position to a blocking channel. */
    static void write(SocketChannel channel, ByteBuffer message) throws IOException {
        message.flip();
        while (message.hasRemaining()) {
            channel.write(message);
        }
    }

    /** A refusal: its status, then the reason as UTF-8, cut to {@link #MAX_MESSAGE_BYTES}. */
    static ByteBuffer refusal(String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_MESSAGE_BYTES);
        return ByteBuffer.allocate(8 + length).putInt(Status.REFUSED.code).putInt(length).put(text, 0, length);
    }

    /** The first field of rank 0's answer to a hello. */
    enum Status {
        /** A welcome follows. */
        WELCOME(0),
        /** A length and a reason follow. */
        REFUSED(1);

        final int code;

        Status(int code) {
            this.code = code;
        }
    }
}
