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
    /** {@code block_q4_0}: 4-bit quants around zero with one float16 scale per 32 values ({@link LegacyQuants}). */
    Q4_0(2, 32, 18),
    /** {@code block_q5_0}: 5-bit quants around zero with one float16 scale per 32 values ({@link LegacyQuants}). */
    Q5_0(6, 32, 22),
    /** {@code block_q5_1}: 5-bit quants with a float16 scale and minimum per 32 values ({@link LegacyQuants}). */
    Q5_1(7, 32, 24),
    /** {@code block_q8_0}: a float16 scale d, then 32 int8 q; value = d * q. */
    Q8_0(8, 32, 34),
    /** {@code block_q3_K}: 3-bit quants, 6-bit scales per 16 values, a float16 per 256 ({@link KQuants}). */
    Q3_K(11, 256, 110),
    /** {@code block_q4_K}: 4-bit quants, 6-bit scales and mins per 32 values, per 256 two float16s ({@link KQuants}). */
    Q4_K(12, 256, 144),
    /** {@code block_q5_K}: Q4_K with a fifth bit per quant ({@link KQuants}). */
    Q5_K(13, 256, 176),
    /** {@code block_q6_K}: 6-bit quants, an int8 scale per 16 values, a float16 per 256 ({@link KQuants}). */
    Q6_K(14, 256, 210),
    /**
     * {@code block_iq3_s}: groups of 4 magnitudes as indices into a 512-point grid, a sign bit per value, 4-bit scales
     * per 32 values, a float16 per 256 ({@link IQuants}).
     */
    IQ3_S(21, 256, 110),
    /** {@code block_iq4_nl}: 4-bit indices into a 16-level table, one float16 scale per 32 ({@link IQuants}). */
    IQ4_NL(20, 32, 18),
    /** {@code block_iq4_xs}: IQ4_NL's indices, 6-bit scales per 32 values, a float16 per 256 ({@link IQuants}). */
    IQ4_XS(23, 256, 136),
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
     * Appends {@code row} encoded in this type to {@code out} (little-endian, with room for {@link #rowBytes}). The
     * quantized types follow ggml's reference quantizers step for step in float32, so the bytes equal llama.cpp's
     * (and gguf-py's, for Q8_0); for the K types and the I-quants, as {@code llama-quantize} writes them without an
     * importance matrix.
     */
    void encodeRow(float[] row, ByteBuffer out) {
        encodeRow(row, null, out);
    }

    /**
     * {@link #encodeRow(float[], ByteBuffer)} under an importance matrix: {@code importance} holds a weight per column
     * of the row (the mean squared input that column meets), with which the K types, the I-quants, Q4_0, Q5_0 and
     * Q5_1 fit their scales as {@code llama-quantize --imatrix} does; the other types ignore it. Null: no importance
     * matrix.
     */
    void encodeRow(float[] row, float[] importance, ByteBuffer out) {
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
            case Q4_0 -> LegacyQuants.q4_0(row, importance, out);
            case Q5_0 -> LegacyQuants.q5_0(row, importance, out);
            case Q5_1 -> LegacyQuants.q5_1(row, importance, out);
            case Q8_0 -> LegacyQuants.q8_0(row, out);
            case Q3_K -> KQuants.q3K(row, importance, out);
            case Q4_K -> KQuants.q4K(row, importance, out);
            case Q5_K -> KQuants.q5K(row, importance, out);
            case Q6_K -> KQuants.q6K(row, importance, out);
            case IQ3_S -> IQuants.iq3S(row, importance, out);
            case IQ4_NL -> IQuants.iq4Nl(row, importance, out);
            case IQ4_XS -> IQuants.iq4Xs(row, importance, out);
        }
    }
}
