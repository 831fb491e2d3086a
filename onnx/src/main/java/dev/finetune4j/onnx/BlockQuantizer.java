package dev.finetune4j.onnx;

import dev.finetune4j.onnx.OnnxExportOptions.WeightFormat;

/**
 * Symmetric block quantization of a MatMul operand (K, N), stored row-major, in blocks of {@code blockSize} rows of one
 * column: what ONNX's {@code DequantizeLinear} (opset 21) with {@code axis} 0 and {@code block_size} undoes. Each
 * block's scale is its largest |value| over the format's largest code (127, or 7), each value's code
 * {@code round(value / scale)} rounded half to even as {@code QuantizeLinear} rounds, so that a block's extreme
 * value comes back exactly and the others within half a scale; an all-zero block has scale 0 and codes 0.
 *
 * <p>Codes are int8 bytes, or int4 packed two a byte in the order ONNX stores INT4: value 2i in the low nibble of byte
 * i, value 2i + 1 in its high nibble, each as a 4-bit two's complement.
 */
final class BlockQuantizer {
    private BlockQuantizer() {
    }

    /**
     * A quantized block row.
     *
     * @param codes  the codes of the rows, row-major, in {@code format}'s bytes
     * @param scales one scale per column, (N)
     */
    record Quantized(byte[] codes, float[] scales) {
    }

    /**
     * Quantizes {@code rows} (at most one block) consecutive rows of a (K, N) matrix as one block per column.
     *
     * @param values  the rows, {@code rows * columns} values, row-major
     * @param rows    the rows of the block; with int4, {@code rows * columns} is even unless the block is the matrix's
     *                last
     * @param columns N
     * @param format  int8 or int4
     * @return the codes and the N scales
     */
    static Quantized quantizeBlock(float[] values, int rows, int columns, WeightFormat format) {
        int maxCode = format.maxCode();
        float[] scales = new float[columns];
        for (int r = 0; r < rows; r++) {
            for (int n = 0; n < columns; n++) {
                scales[n] = Math.max(scales[n], Math.abs(values[r * columns + n]));
            }
        }
        for (int n = 0; n < columns; n++) {
            scales[n] /= maxCode;
        }
        int count = rows * columns;
        byte[] codes = new byte[Math.toIntExact(format.bytesFor(count))];
        for (int i = 0; i < count; i++) {
            float scale = scales[i % columns];
            int code = scale == 0 ? 0 : (int) Math.max(-maxCode, Math.min(maxCode, Math.rint(values[i] / scale)));
            if (format == WeightFormat.INT8) {
                codes[i] = (byte) code;
            } else {
                codes[i >> 1] |= (byte) ((code & 0xF) << ((i & 1) * 4));
            }
        }
        return new Quantized(codes, scales);
    }
}
