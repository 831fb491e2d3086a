package dev.finetune4j.core.tensor;

/**
 * The storage layout of a {@link DType#NF4} tensor: 4-bit NormalFloat as QLoRA stores frozen weights (Dettmers et
 * al. 2023, sections 3 and 3.1). The values, in row-major order, form blocks of {@value #BLOCK}, each scaled by its
 * absolute maximum and rounded to the nearest of 16 code values ({@link #code(int)}, bitsandbytes' NF4 table);
 * "double quantization" then stores the block maxima, minus their mean, as signed 8-bit codes in groups of
 * {@value #GROUP} blocks with one float32 scale per group.
 *
 * <p>One tensor's storage holds, from byte 0, so that the floats are 4-byte aligned for a GPU:
 * <ol>
 *   <li>the mean of the block maxima (float32);</li>
 *   <li>one float32 scale per group;</li>
 *   <li>one signed 8-bit code per block: {@code (absmax - mean) / scale * 127}, rounded;</li>
 *   <li>the 4-bit code indices, two per byte, element 2i in the high nibble.</li>
 * </ol>
 * Storage per parameter: 4 bits + 8 bits / 64 + 32 bits / (64 * 256), about 0.516 bytes.
 * NOTE: bitsandbytes quantizes the maxima with its non-linear "dynamic" 8-bit map; this uses symmetric linear 8-bit
 * codes. The 4-bit codes and the block layout are the same; the scale rounding differs by under 0.4%.
 *
 * <p>An NF4 tensor is always a whole, contiguous tensor (offset 0): its blocks run over all its values. Backends
 * quantize and dequantize it ({@code Backend.quantization()}).
 */
public final class Nf4Format {
    /** Values per 4-bit block. */
    public static final int BLOCK = 64;
    /** Block maxima per 8-bit group. */
    public static final int GROUP = 256;
    private static final float[] CODE = {
            -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
            0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
            0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

    private Nf4Format() {
    }

    /**
     * The NF4 code value of a 4-bit index (quantiles of N(0, 1) scaled to [-1, 1], with an exact zero).
     *
     * @param index 0 to 15
     * @return the value the index stands for, times the block's maximum
     */
    public static float code(int index) {
        return CODE[index];
    }

    /**
     * The number of blocks of {@code elements} values (the last one may be partial).
     *
     * @param elements the number of values
     * @return ceil(elements / 64)
     */
    public static long blocks(long elements) {
        return (elements + BLOCK - 1) / BLOCK;
    }

    /**
     * The number of 8-bit groups of {@code elements} values.
     *
     * @param elements the number of values
     * @return ceil(blocks / 256)
     */
    public static long groups(long elements) {
        return (blocks(elements) + GROUP - 1) / GROUP;
    }

    /**
     * Byte offset of the group scales (float32, one per group).
     *
     * @return 4: they follow the mean of the block maxima
     */
    public static long scalesOffset() {
        return Float.BYTES;
    }

    /**
     * Byte offset of the 8-bit block maxima codes.
     *
     * @param elements the number of values
     * @return the offset, after the group scales
     */
    public static long absmaxOffset(long elements) {
        return scalesOffset() + Float.BYTES * groups(elements);
    }

    /**
     * Byte offset of the packed 4-bit codes.
     *
     * @param elements the number of values
     * @return the offset, after the block maxima codes
     */
    public static long codesOffset(long elements) {
        return absmaxOffset(elements) + blocks(elements);
    }

    /**
     * Bytes of storage for {@code elements} values: codes, block maxima, group scales and their mean.
     *
     * @param elements the number of values
     * @return the total size; 0 for no values
     */
    public static long bytes(long elements) {
        return elements == 0 ? 0 : codesOffset(elements) + (elements + 1) / 2;
    }
}
