package dev.finetune4j.core.tensor;

import java.util.Locale;

/**
 * Element types a tensor can hold. Compute on the CPU is float32; the other floating types are storage
 * formats converted on load (bf16/f16 with IEEE round-to-nearest-even, see {@link DTypeConversions}).
 * {@code NF4} is the packed 4-bit NormalFloat storage of QLoRA: two values per byte plus block scales, laid out as
 * {@link Nf4Format} says.
 */
public enum DType {
    /** IEEE 754 single precision, 4 bytes. */
    F32(4, "F32"),
    /** bfloat16: the upper half of a float32, 2 bytes. */
    BF16(2, "BF16"),
    /** IEEE 754 half precision, 2 bytes. */
    F16(2, "F16"),
    /** Signed 64-bit integer (token ids). */
    I64(8, "I64"),
    /** Signed 32-bit integer. */
    I32(4, "I32"),
    /** Signed 8-bit integer. */
    I8(1, "I8"),
    /** Unsigned 8-bit integer. */
    U8(1, "U8"),
    /** Boolean, one byte holding 0 or 1. */
    BOOL(1, "BOOL"),
    /** Packed 4-bit NormalFloat with block scales ({@link Nf4Format}); use {@link #bytesFor(long)} for its size. */
    NF4(1, "NF4");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    /**
     * Bytes per element.
     *
     * @return the size of one element; for {@link #NF4}, 1 (two codes per byte, the scales not counted)
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Bytes needed to store {@code elements} values of this type.
     *
     * @param elements the number of values
     * @return their size; for {@link #NF4} a whole tensor's codes and block scales ({@link Nf4Format#bytes})
     * @throws IllegalArgumentException when {@code elements} is negative or so large that the size would overflow a
     *                                  long (a shape no device can hold)
     */
    public long bytesFor(long elements) {
        // NOTE: a product that wrapped around would allocate a small buffer for a huge shape ((2^30, 2^30, 4) floats
        // need 2^64 bytes, which wraps to 0), and kernels would then run past its end. No dtype is wider than 8 bytes.
        if (elements < 0 || elements > Long.MAX_VALUE / Long.BYTES) {
            throw new IllegalArgumentException(elements + " " + this + " values cannot be stored: the count must be in [0, "
                    + Long.MAX_VALUE / Long.BYTES + "]; check the shape that asked for them");
        }
        return this == NF4 ? Nf4Format.bytes(elements) : elements * byteSize;
    }

    /**
     * The dtype string used in safetensors headers ({@code "F32"}, {@code "BF16"}, ...).
     *
     * @return the safetensors name
     */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * Whether this is a floating-point type that can hold trainable values.
     *
     * @return true for F32, BF16 and F16
     */
    public boolean isFloatingPoint() {
        return this == F32 || this == BF16 || this == F16;
    }

    /**
     * Parses a safetensors dtype name.
     *
     * @param name a safetensors dtype, e.g. {@code BF16}
     * @return the dtype
     * @throws IllegalArgumentException naming the unknown type and the supported ones
     */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t != NF4 && t.safetensorsName.equals(name.toUpperCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name
                + "'; supported: F32, BF16, F16, I64, I32, I8, U8, BOOL");
    }
}
