package dev.finetune4j.peft.qlora;

/**
 * The scalar NF4 quantizer peft used before NF4 moved into core (kept as an independent reference for the core
 * kernels: same code table, blocks and double quantization, one value at a time on heap arrays).
 * 4-bit NormalFloat quantization as QLoRA stores frozen weights (Dettmers et al. 2023, sections 3 and 3.1):
 * blocks of 64 values scaled by their absolute maximum and rounded to the nearest of 16 code values (quantiles
 * of N(0, 1) with an exact zero), two codes per byte; then "double quantization": the block maxima, minus their
 * mean, are quantized to 8 bits in groups of 256 with one float32 scale per group.
 *
 * <p>Storage per parameter: 4 bits + 8 bits / 64 + 32 bits / (64 * 256) = 0.5159 bytes.
 * NOTE: bitsandbytes quantizes the maxima with its non-linear "dynamic" 8-bit map; this uses symmetric linear
 * 8-bit codes. The 4-bit codes and block layout are the same; the scale rounding differs by under 0.4%.
 *
 * <p>Thread safety: stateless; {@link Quantized} is immutable once built.
 */
final class ReferenceNf4 {
    /** Values per 4-bit block. */
    static final int BLOCK = 64;
    /** Block maxima per 8-bit group. */
    static final int ABSMAX_GROUP = 256;
    /** The 16 NF4 code values, as bitsandbytes defines them. */
    static final float[] CODE = {
            -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
            0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
            0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};
    private static final float[] MIDPOINTS = new float[15];

    static {
        for (int i = 0; i < 15; i++) {
            MIDPOINTS[i] = (CODE[i] + CODE[i + 1]) / 2;
        }
    }

    private ReferenceNf4() {
    }

    /**
     * A quantized tensor.
     *
     * @param codes        two 4-bit code indices per byte, element 2i in the high nibble
     * @param absmaxCodes  one signed 8-bit code per block: (absmax - offset) / groupScale * 127
     * @param groupScales  one float32 scale per group of 256 blocks
     * @param absmaxOffset the mean of all block maxima
     * @param size         number of values
     */
    record Quantized(byte[] codes, byte[] absmaxCodes, float[] groupScales, float absmaxOffset, int size) {

        /** Bytes of storage (codes, 8-bit maxima, group scales, offset). */
        long bytes() {
            return codes.length + absmaxCodes.length + 4L * groupScales.length + 4;
        }

        /** The maximum of block {@code b}, recovered from its 8-bit code. */
        float absmax(int b) {
            return absmaxCodes[b] / 127f * groupScales[b / ABSMAX_GROUP] + absmaxOffset;
        }
    }

    /** Quantizes {@code values} (any length; the last block may be partial). */
    static Quantized quantize(float[] values) {
        int n = values.length;
        int blocks = (n + BLOCK - 1) / BLOCK;
        float[] absmax = new float[blocks];
        double sum = 0;
        for (int b = 0; b < blocks; b++) {
            float m = 0;
            for (int i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
                m = Math.max(m, Math.abs(values[i]));
            }
            absmax[b] = m;
            sum += m;
        }
        float offset = (float) (sum / blocks);
        int groups = (blocks + ABSMAX_GROUP - 1) / ABSMAX_GROUP;
        float[] scales = new float[groups];
        byte[] absmaxCodes = new byte[blocks];
        for (int g = 0; g < groups; g++) {
            float s = 0;
            for (int b = g * ABSMAX_GROUP; b < Math.min(blocks, (g + 1) * ABSMAX_GROUP); b++) {
                s = Math.max(s, Math.abs(absmax[b] - offset));
            }
            scales[g] = s;
            for (int b = g * ABSMAX_GROUP; b < Math.min(blocks, (g + 1) * ABSMAX_GROUP); b++) {
                absmaxCodes[b] = s == 0 ? 0 : (byte) Math.round((absmax[b] - offset) / s * 127f);
            }
        }
        byte[] codes = new byte[(n + 1) / 2];
        Quantized q = new Quantized(codes, absmaxCodes, scales, offset, n);
        for (int b = 0; b < blocks; b++) {
            // scale by the maximum the dequantizer will see, so that rounding of the maximum is not doubled
            float m = q.absmax(b);
            float inv = m == 0 ? 0 : 1 / m;
            for (int i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
                int code = nearest(values[i] * inv);
                codes[i >> 1] |= (byte) ((i & 1) == 0 ? code << 4 : code);
            }
        }
        return q;
    }

    /** The values of {@code q} as float32. */
    static float[] dequantize(Quantized q) {
        float[] out = new float[q.size()];
        dequantizeInto(q, out);
        return out;
    }

    /** Writes the values of {@code q} into {@code out} (length at least {@code q.size()}). */
    static void dequantizeInto(Quantized q, float[] out) {
        int blocks = q.absmaxCodes().length;
        byte[] codes = q.codes();
        for (int b = 0; b < blocks; b++) {
            float m = q.absmax(b);
            int end = Math.min(q.size(), (b + 1) * BLOCK);
            for (int i = b * BLOCK; i < end; i++) {
                int packed = codes[i >> 1];
                int code = (i & 1) == 0 ? (packed >> 4) & 0xF : packed & 0xF;
                out[i] = CODE[code] * m;
            }
        }
    }

    /** Index of the code value nearest to {@code x} in [-1, 1]. */
    static int nearest(float x) {
        int lo = 0;
        int hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (x > MIDPOINTS[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
