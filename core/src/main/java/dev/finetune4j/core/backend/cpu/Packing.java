package dev.finetune4j.core.backend.cpu;

import java.util.Arrays;

/**
 * Copies operands into the layouts the micro-kernel streams through: B into column panels, A into rows (only
 * when it is transposed or its last panel is partial). The B layout (Goto and van de Geijn 2008, "Anatomy
 * of high-performance matrix multiplication", section 4): panel {@code q} of width {@code w} holds, for every
 * {@code p} in {@code [0, k)}, the {@code w} values of rows (for A) or columns (for B) {@code q*w .. q*w+w-1}
 * at index {@code q*w*k + p*w}. Positions past the matrix edge are written as zeros, so the kernel always
 * computes whole tiles and the buffers can be reused without clearing.
 */
final class Packing {
    /** Columns of a row-major operand transposed per tile (see {@link #packRowPanel}). */
    private static final int TILE_K = 16;

    private Packing() {
    }

    /** Panel {@code q} of op(a) {@code (m, k)} in row panels of height {@code w}. */
    static void packRowPanel(float[] a, int off, boolean transposed, int m, int k, int w, float[] dst, int q) {
        int base = q * w * k;
        int i0 = q * w;
        int rows = Math.min(w, m - i0);
        if (transposed) {
            // a is (k, m): the panel's w values at each p are adjacent in memory.
            for (int p = 0; p < k; p++) {
                int d = base + p * w;
                System.arraycopy(a, off + p * m + i0, dst, d, rows);
                Arrays.fill(dst, d + rows, d + w, 0f);
            }
        } else {
            // A transpose in tiles of TILE_K columns: each row's reads stay sequential and the tile's destination
            // lines stay in cache across the rows (row-at-a-time writes at stride w thrashed them).
            for (int p0 = 0; p0 < k; p0 += TILE_K) {
                int p1 = Math.min(k, p0 + TILE_K);
                for (int r = 0; r < rows; r++) {
                    int src = off + (i0 + r) * k;
                    for (int p = p0; p < p1; p++) {
                        dst[base + p * w + r] = a[src + p];
                    }
                }
                for (int r = rows; r < w; r++) {
                    for (int p = p0; p < p1; p++) {
                        dst[base + p * w + r] = 0f;
                    }
                }
            }
        }
    }

    /** Panel {@code q} of op(b) {@code (k, n)} in column panels of width {@code w}. */
    static void packColumnPanel(float[] b, int off, boolean transposed, int k, int n, int w, float[] dst, int q) {
        // op(b) (k, n) column panel == row panel of op(b)^T (n, k), which is b itself when transposed.
        packRowPanel(b, off, !transposed, n, k, w, dst, q);
    }

    /**
     * {@link #packColumnPanel(float[], int, boolean, int, int, int, float[], int)} from a stored weight, converted to
     * float32 as it is packed: the same panel, value for value, as packing the converted weight.
     */
    static void packColumnPanel(StoredMatrix b, boolean transposed, int k, int n, int w, float[] dst, int q) {
        int base = q * w * k;
        int j0 = q * w;
        int cols = Math.min(w, n - j0);
        if (!transposed) {
            // b is (k, n): the panel's w values at each p are adjacent in storage.
            for (int p = 0; p < k; p++) {
                int d = base + p * w;
                b.read((long) p * n + j0, dst, d, cols);
                Arrays.fill(dst, d + cols, d + w, 0f);
            }
            return;
        }
        // b is (n, k): the panel is rows of b, transposed a tile of TILE_K values at a time as in packRowPanel
        float[] tile = new float[TILE_K];
        for (int p0 = 0; p0 < k; p0 += TILE_K) {
            int p1 = Math.min(k, p0 + TILE_K);
            for (int r = 0; r < cols; r++) {
                b.read((long) (j0 + r) * k + p0, tile, 0, p1 - p0);
                for (int p = p0; p < p1; p++) {
                    dst[base + p * w + r] = tile[p - p0];
                }
            }
            for (int r = cols; r < w; r++) {
                for (int p = p0; p < p1; p++) {
                    dst[base + p * w + r] = 0f;
                }
            }
        }
    }

    /**
     * Rows {@code q*w .. q*w+w-1} of {@code a^T}, where {@code a} is {@code (k, m)} row-major, written as rows of
     * {@code k} values ({@code dst[i*k + p] = a[p*m + i]}); rows at or past {@code m} are zeros.
     */
    static void transposeRowPanel(float[] a, int off, int m, int k, int w, float[] dst, int q) {
        int i0 = q * w;
        int rows = Math.min(w, m - i0);
        for (int p = 0; p < k; p++) {
            int src = off + p * m + i0;
            for (int r = 0; r < rows; r++) {
                dst[(i0 + r) * k + p] = a[src + r];
            }
        }
        Arrays.fill(dst, (i0 + rows) * k, (i0 + w) * k, 0f);
    }

    /** {@code rows} rows of {@code k} values from {@code a[off..]}, padded with zero rows to {@code w} rows. */
    static float[] paddedRows(float[] a, int off, int rows, int k, int w) {
        float[] padded = new float[w * k];
        System.arraycopy(a, off, padded, 0, rows * k);
        return padded;
    }
}
