package dev.finetune4j.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The key/value section of a GGUF file, encoded as it is added: each entry is its key (a GGUF string), its value
 * type ({@code gguf_type}) and its value, little-endian. Keys are unique. Not thread-safe.
 */
final class GgufMetadata {
    // gguf_type values (ggml/include/gguf.h)
    private static final int UINT8 = 0;
    static final int UINT32 = 4;
    private static final int INT32 = 5;
    private static final int FLOAT32 = 6;
    private static final int BOOL = 7;
    static final int STRING = 8;
    static final int ARRAY = 9;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    private final Set<String> keys = new HashSet<>();

    /** Number of entries added. */
    int count() {
        return keys.size();
    }

    /** The encoded entries, in the order they were added. */
    byte[] encoded() {
        return bytes.toByteArray();
    }

    GgufMetadata putString(String key, String value) {
        key(key, STRING);
        string(value);
        return this;
    }

    GgufMetadata putUint32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("GGUF key '" + key + "': " + value + " does not fit a uint32");
        }
        key(key, UINT32);
        int32((int) value);
        return this;
    }

    GgufMetadata putFloat32(String key, double value) {
        key(key, FLOAT32);
        int32(Float.floatToRawIntBits((float) value));
        return this;
    }

    GgufMetadata putBool(String key, boolean value) {
        key(key, BOOL);
        bytes.write(value ? 1 : 0);
        return this;
    }

    GgufMetadata putStrings(String key, List<String> values) {
        arrayHeader(key, STRING, values.size());
        values.forEach(this::string);
        return this;
    }

    GgufMetadata putBools(String key, boolean[] values) {
        arrayHeader(key, BOOL, values.length);
        for (boolean v : values) {
            bytes.write(v ? 1 : 0);
        }
        return this;
    }

    GgufMetadata putUint8s(String key, byte[] values) {
        arrayHeader(key, UINT8, values.length);
        bytes.writeBytes(values);
        return this;
    }

    GgufMetadata putInt32s(String key, int[] values) {
        arrayHeader(key, INT32, values.length);
        for (int v : values) {
            int32(v);
        }
        return this;
    }

    GgufMetadata putFloat32s(String key, float[] values) {
        arrayHeader(key, FLOAT32, values.length);
        for (float v : values) {
            int32(Float.floatToRawIntBits(v));
        }
        return this;
    }

    private void arrayHeader(String key, int elementType, int length) {
        key(key, ARRAY);
        int32(elementType);
        int64(length);
    }

    private void key(String key, int type) {
        if (!keys.add(key)) {
            throw new IllegalStateException("GGUF key '" + key + "' was set twice");
        }
        string(key);
        int32(type);
    }

    /** A GGUF string: its UTF-8 length as uint64, then the bytes (no terminator). */
    private void string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        int64(utf8.length);
        bytes.writeBytes(utf8);
    }

    private void int32(int v) {
        bytes.write(scratch.clear().putInt(v).array(), 0, 4);
    }

    private void int64(long v) {
        bytes.write(scratch.clear().putLong(v).array(), 0, 8);
    }
}
