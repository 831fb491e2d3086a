package dev.finetune4j.gguf;

import java.nio.ByteBuffer;

/**
 * ggml's dequantization ({@code dequantize_row_*} in ggml-quants.c, as read there): the values llama.cpp computes
 * with from a stored row. KQuantsTest checks it against ggml's own output bit for bit.
 */
final class GgmlDecoder {
    private GgmlDecoder() {
    }

    /** Decodes one row of {@code length} values from {@code in} into {@code out[at..at + length)}. */
    static void decode(GgmlType type, ByteBuffer in, float[] out, int at, int length) {
        int blocks = length / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            int o = at + b * type.blockSize();
            switch (type) {
                case F32 -> out[o] = in.getFloat();
                case F16 -> out[o] = Float.float16ToFloat(in.getShort());
                case BF16 -> out[o] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
                case Q8_0 -> q8_0(in, out, o);
                case Q4_0 -> q4_0(in, out, o);
                case Q3_K -> q3K(in, out, o);
                case Q5_0, Q5_1 -> q5(type == GgmlType.Q5_1, in, out, o);
                case Q4_K, Q5_K -> q45K(type == GgmlType.Q5_K, in, out, o);
                case Q6_K -> q6K(in, out, o);
                case IQ3_S -> iq3S(in, out, o);
                case IQ4_NL -> iq4Nl(in, out, o);
                case IQ4_XS -> iq4Xs(in, out, o);
            }
        }
    }

    private static void q8_0(ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        for (int j = 0; j < 32; j++) {
            out[o + j] = d * in.get();
        }
    }

    private static void q4_0(ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        for (int j = 0; j < 16; j++) {
            int packed = in.get() & 0xFF;
            out[o + j] = ((packed & 0xF) - 8) * d;
            out[o + j + 16] = ((packed >> 4) - 8) * d;
        }
    }

    /** Value v: 2 bits of byte (v / 128) * 32 + v % 32 at 2 * (v % 128 / 32), minus 4 unless hmask bit v / 32 is set. */
    private static void q3K(ByteBuffer in, float[] out, int o) {
        byte[] high = new byte[32];
        byte[] low = new byte[64];
        byte[] scales = new byte[12];
        in.get(high).get(low).get(scales);
        float d = Float.float16ToFloat(in.getShort());
        for (int v = 0; v < 256; v++) {
            float step = d * (KQuants.storedScale(scales, v / 16) - 32);
            int q = (low[v / 128 * 32 + v % 32] & 0xFF) >> 2 * (v % 128 / 32) & 3;
            boolean bit = ((high[v % 32] & 0xFF) >> (v / 32) & 1) != 0;
            out[o + v] = step * (q - (bit ? 0 : 4));
        }
    }

    private static void q5(boolean withMin, ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        float m = withMin ? Float.float16ToFloat(in.getShort()) : 0f;
        int high = in.getInt();
        for (int j = 0; j < 16; j++) {
            int packed = in.get() & 0xFF;
            int q0 = (packed & 0xF) | ((high >>> j) & 1) << 4;
            int q1 = (packed >> 4) | ((high >>> (j + 16)) & 1) << 4;
            out[o + j] = withMin ? q0 * d + m : (q0 - 16) * d;
            out[o + j + 16] = withMin ? q1 * d + m : (q1 - 16) * d;
        }
    }

    private static void q45K(boolean fifthBit, ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        float dmin = Float.float16ToFloat(in.getShort());
        byte[] scales = new byte[12];
        in.get(scales);
        byte[] high = new byte[fifthBit ? 32 : 0];
        in.get(high);
        byte[] low = new byte[128];
        in.get(low);
        for (int p = 0; p < 4; p++) {
            for (int half = 0; half < 2; half++) {
                int j = 2 * p + half;
                int sc = j < 4 ? scales[j] & 63 : (scales[j + 4] & 0xF) | ((scales[j - 4] & 0xFF) >> 6) << 4;
                int mn = j < 4 ? scales[j + 4] & 63 : ((scales[j + 4] & 0xFF) >> 4) | ((scales[j] & 0xFF) >> 6) << 4;
                float step = d * sc;
                float offset = dmin * mn;
                for (int i = 0; i < 32; i++) {
                    int nibble = half == 0 ? low[32 * p + i] & 0xF : (low[32 * p + i] & 0xFF) >> 4;
                    int bit = fifthBit ? ((high[i] >> (2 * p + half)) & 1) << 4 : 0;
                    out[o + 64 * p + 32 * half + i] = step * (nibble + bit) - offset;
                }
            }
        }
    }

    private static void q6K(ByteBuffer in, float[] out, int o) {
        byte[] low = new byte[128];
        byte[] high = new byte[64];
        byte[] scales = new byte[16];
        in.get(low).get(high).get(scales);
        float d = Float.float16ToFloat(in.getShort());
        for (int half = 0; half < 2; half++) {
            for (int i = 0; i < 32; i++) {
                int ql0 = low[64 * half + i] & 0xFF;
                int ql1 = low[64 * half + i + 32] & 0xFF;
                int qh = high[32 * half + i] & 0xFF;
                int[] q = {(ql0 & 0xF | (qh & 3) << 4) - 32, (ql1 & 0xF | (qh >> 2 & 3) << 4) - 32,
                    (ql0 >> 4 | (qh >> 4 & 3) << 4) - 32, (ql1 >> 4 | (qh >> 6 & 3) << 4) - 32};
                for (int k = 0; k < 4; k++) {
                    out[o + 128 * half + 32 * k + i] = d * scales[8 * half + 2 * k + i / 16] * q[k];
                }
            }
        }
    }

    private static void iq4Nl(ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        nonLinearBlock(d, in, out, o);
    }

    /** Block b's 6-bit scale: the nibble b % 2 of byte b / 2 of the low part, bits 2b and 2b + 1 of the high one. */
    private static void iq4Xs(ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        int high = in.getShort() & 0xFFFF;
        byte[] low = new byte[4];
        in.get(low);
        for (int b = 0; b < 8; b++) {
            int scale = ((low[b / 2] & 0xFF) >> 4 * (b % 2) & 0xF) | (high >> 2 * b & 3) << 4;
            nonLinearBlock(d * (scale - 32), in, out, o + 32 * b);
        }
    }

    /** 32 values from 16 bytes of level indices: value j in byte j's low nibble, value j + 16 in its high one. */
    private static void nonLinearBlock(float d, ByteBuffer in, float[] out, int o) {
        for (int j = 0; j < 16; j++) {
            int packed = in.get() & 0xFF;
            out[o + j] = d * IQuants.VALUES[packed & 0xF];
            out[o + j + 16] = d * IQuants.VALUES[packed >> 4];
        }
    }

    /**
     * Group g of block b: grid point (low byte 8b + g, ninth bit g of byte b), its 4 magnitudes times
     * {@code d * (1 + 2 * scale_b)}, negated where bit i of sign byte 4b + g / 2 (i = 4 (g % 2) + value) is set.
     */
    private static void iq3S(ByteBuffer in, float[] out, int o) {
        float d = Float.float16ToFloat(in.getShort());
        byte[] low = new byte[64];
        byte[] high = new byte[8];
        byte[] signs = new byte[32];
        byte[] scales = new byte[4];
        in.get(low).get(high).get(signs).get(scales);
        for (int b = 0; b < 8; b++) {
            float step = d * (1 + 2 * ((scales[b / 2] & 0xFF) >> 4 * (b % 2) & 0xF));
            for (int g = 0; g < 8; g++) {
                int index = (low[8 * b + g] & 0xFF) | ((high[b] & 0xFF) >> g & 1) << 8;
                for (int i = 0; i < 4; i++) {
                    int v = 4 * (g % 2) + i;
                    boolean negative = ((signs[4 * b + g / 2] & 0xFF) >> v & 1) != 0;
                    out[o + 32 * b + 4 * g + i] = step * (2 * Iq3Grid.level(index, i) + 1) * (negative ? -1f : 1f);
                }
            }
        }
    }
}
