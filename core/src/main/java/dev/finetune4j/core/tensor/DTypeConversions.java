package dev.finetune4j.core.tensor;

/**
 * Scalar conversions between float32 and the 16-bit floating formats, rounding to nearest-even as IEEE 754
 * specifies (the behaviour of PyTorch's {@code .to(torch.bfloat16)} and {@code .half()}).
 */
public final class DTypeConversions {
    private DTypeConversions() {
    }

    /**
     * bf16 bits to float32: bf16 is the upper half of a float32.
     *
     * @param bits the bf16 bits
     * @return the value
     */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * float32 to bf16 bits, round-to-nearest-even; NaN stays a (quiet) NaN.
     *
     * @param value the float32 value
     * @return the bf16 bits
     */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /**
     * {@code value} rounded to the nearest bf16 value (round-to-nearest-even), as a float32.
     *
     * @param value the float32 value
     * @return the bf16 value it rounds to
     */
    public static float roundToBf16(float value) {
        return bf16ToFloat(floatToBf16(value));
    }

    /**
     * IEEE half bits to float32 (exact).
     *
     * @param bits the half-precision bits
     * @return the value
     */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /**
     * float32 to IEEE half bits, round-to-nearest-even (the JDK implements IEEE rounding).
     *
     * @param value the float32 value
     * @return the half-precision bits
     */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }
}
