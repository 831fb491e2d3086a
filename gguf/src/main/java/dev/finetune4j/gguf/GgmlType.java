package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.nio.ByteBuffer;

/**
 * The ggml storage types an export writes, with their ids in a GGUF tensor header ({@code ggml_type}) and how a
 * row of float32 values is encoded in each (little-endian). A row of a quantized type is a sequence of blocks of
 * {@link #blockSize()} values.
 */
enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    /** {@code block_q8_0}: a float16 scale d, then 32 int8 q; value = d * q. */
    Q8_0(8, 32, 34),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The {@code ggml_type} value in a tensor's header. */
    int id() {
        return id;
    }

    /** Values per block: a row's length must be a multiple of it. */
    int blockSize() {
        return blockSize;
    }

    /**
     * Bytes of a row of {@code length} values.
     *
     * @throws IllegalArgumentException when {@code length} is not a whole number of blocks
     */
    long rowBytes(long length) {
        if (length % blockSize != 0) {
            throw new IllegalArgumentException("a row of " + length + " values is not a whole number of " + name()
                    + " blocks of " + blockSize);
        }
        return length / blockSize * blockBytes;
    }

    /**
     * Appends {@code row} encoded in this type to {@code out} (little-endian, with room for {@link #rowBytes}).
     * Q8_0 follows ggml's reference quantizer ({@code quantize_row_q8_0_ref}) step for step in float32, so the
     * bytes equal llama.cpp's and gguf-py's: {@code d = amax / 127}, {@code q = roundf(x * (1 / d))}, rounding
     * halves away from zero, the scale stored as float16.
     */
    void encodeRow(float[] row, ByteBuffer out) {
        switch (this) {
            case F32 -> {
                for (float v : row) {
                    out.putFloat(v);
                }
            }
            case F16 -> {
                for (float v : row) {
                    out.putShort(DTypeConversions.floatToF16(v));
                }
            }
            case BF16 -> {
                for (float v : row) {
                    out.putShort(DTypeConversions.floatToBf16(v));
                }
            }
            case Q8_0 -> {
                for (int start = 0; start < row.length; start += blockSize) {
                    float amax = 0f;
                    for (int j = 0; j < blockSize; j++) {
                        amax = Math.max(amax, Math.abs(row[start + j]));
                    }
                    float d = amax / 127f;
                    float id = d != 0f ? 1f / d : 0f;
                    out.putShort(DTypeConversions.floatToF16(d));
                    for (int j = 0; j < blockSize; j++) {
                        out.put((byte) roundHalfAwayFromZero(row[start + j] * id));
                    }
                }
            }
        }
    }

    /**
     * C's {@code roundf}: halves away from zero (Java's Math.round rounds them up). NOTE: the sum is taken in double,
     * where 0.49999997f + 0.5 stays below 1 (in float it rounds up to 1).
     */
    private static int roundHalfAwayFromZero(float x) {
        return (int) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }
}
