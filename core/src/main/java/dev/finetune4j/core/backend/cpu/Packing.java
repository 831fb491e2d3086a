package dev.finetune4j.core.backend.cpu;

/** Layout helpers for the kernels. */
final class Packing {
    private Packing() {
    }

    /** Transposes the {@code (rows, cols)} row-major matrix at {@code off} into a new {@code (cols, rows)} array. */
    static float[] transpose(float[] src, int off, int rows, int cols) {
        float[] out = new float[rows * cols];
        final int tile = 32; // cache-friendly blocks: both reads and writes stay within a few lines
        for (int r0 = 0; r0 < rows; r0 += tile) {
            int r1 = Math.min(rows, r0 + tile);
            for (int c0 = 0; c0 < cols; c0 += tile) {
                int c1 = Math.min(cols, c0 + tile);
                for (int r = r0; r < r1; r++) {
                    int base = off + r * cols;
                    for (int c = c0; c < c1; c++) {
                        out[c * rows + r] = src[base + c];
                    }
                }
            }
        }
        return out;
    }
}
