package dev.finetune4j.spark;

import dev.finetune4j.data.format.Json;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable byte buffer to write a row's binary column into ({@link Out}) and a cursor to read it back
 * ({@link In}): variable-length integers, strings with their length (UTF-8, or UTF-16 for the rare string that UTF-8
 * cannot hold), and Java serialization for the rare value that has no compact form. Not thread-safe.
 */
final class Bytes {
    private Bytes() {
    }

    /** Writes values in order; {@link #toByteArray()} returns what was written. */
    static final class Out {
        private byte[] buf = new byte[256];
        private int size;

        void writeByte(int b) {
            ensure(1);
            buf[size++] = (byte) b;
        }

        /** A non-negative long in 1 to 9 bytes (7 bits a byte), or 10 for negatives. */
        void writeVarLong(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                buf[size++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            buf[size++] = (byte) v;
        }

        void writeLong(long v) {
            ensure(8);
            for (int shift = 56; shift >= 0; shift -= 8) {
                buf[size++] = (byte) (v >>> shift);
            }
        }

        /**
         * A string, losslessly: its length with a flag in the lowest bit, then its UTF-8 bytes, or (flag set) its
         * UTF-16 chars when it holds a lone surrogate.
         */
        void writeString(String s) {
            // NOTE: UTF-8 cannot hold a lone surrogate (a step that cuts text inside an emoji makes one) and getBytes
            // turns it into '?', so the next steps and the writer, which refuses such a record by name, would see
            // another text than on one machine; such a string travels as UTF-16
            if (Json.hasUnpairedSurrogate(s)) {
                writeVarLong(((long) s.length() << 1) | 1);
                ensure(Math.multiplyExact(2, s.length()));
                for (int i = 0; i < s.length(); i++) {
                    char c = s.charAt(i);
                    buf[size++] = (byte) (c >>> 8);
                    buf[size++] = (byte) c;
                }
            } else {
                byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                writeVarLong((long) utf8.length << 1);
                ensure(utf8.length);
                System.arraycopy(utf8, 0, buf, size, utf8.length);
                size += utf8.length;
            }
        }

        void writeBytes(byte[] b) {
            writeVarLong(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        void writeSerialized(Serializable value) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(value);
            } catch (IOException e) {
                throw new UncheckedIOException("Java serialization of a " + value.getClass().getName() + " failed: "
                        + e.getMessage(), e);
            }
            writeBytes(bytes.toByteArray());
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, size);
        }

        private void ensure(int more) {
            if (size + more > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
            }
        }
    }

    /** Reads what an {@link Out} wrote, in the same order. */
    static final class In {
        private final byte[] buf;
        private int pos;

        In(byte[] buf) {
            this.buf = buf;
        }

        int readByte() {
            return buf[pos++];
        }

        long readVarLong() {
            long v = 0;
            for (int shift = 0; ; shift += 7) {
                byte b = buf[pos++];
                v |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return v;
                }
            }
        }

        long readLong() {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (buf[pos++] & 0xFF);
            }
            return v;
        }

        /** A string that {@link Out#writeString} wrote. */
        String readString() {
            long header = readVarLong();
            int n = Math.toIntExact(header >>> 1);
            if ((header & 1) == 0) {
                String s = new String(buf, pos, n, StandardCharsets.UTF_8);
                pos += n;
                return s;
            }
            char[] chars = new char[n];
            for (int i = 0; i < n; i++, pos += 2) {
                chars[i] = (char) (((buf[pos] & 0xFF) << 8) | (buf[pos + 1] & 0xFF));
            }
            return new String(chars);
        }

        byte[] readBytes() {
            int n = length();
            byte[] b = Arrays.copyOfRange(buf, pos, pos + n);
            pos += n;
            return b;
        }

        Object readSerialized() {
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(readBytes()))) {
                return in.readObject();
            } catch (IOException e) {
                throw new UncheckedIOException("reading a Java-serialized value: " + e.getMessage(), e);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("a Java-serialized value's class is missing on this executor: "
                        + e.getMessage() + "; ship it with the job's jars", e);
            }
        }

        private int length() {
            return Math.toIntExact(readVarLong());
        }
    }
}
