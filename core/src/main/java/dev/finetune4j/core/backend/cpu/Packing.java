package dev.finetune4j.core.backend.cpu;

import java.util.Arrays;

/**
 * Copies operands into the layouts the micro-kernel streams through: B into column panels, A into rows (only
 * when it is transposed or its last panel is partial). The B layout (Goto and van de Geijn 2008, "Anatomy
 * of high-performance matrix multiplication", section 4): panel {@code q} of width {@code w} holds, for every
 * {@code p} in {@code [0, k)}, the {@code w} values of columns {@code q*w .. q*w+w-1} at index {@code q*w*k + p*w}
 * (a block of panels over rows {@code [k0, k0 + depth)} holds each panel's rows the same way, {@code w*depth} floats
 * per panel). Positions past the matrix edge are written as zeros, so the kernel always computes whole tiles and the
 * buffers can be reused without clearing.
 */
final class Packing {
    /** Columns of a row-major operand transposed per tile (see {@link #packColumnPanel(float[], int, boolean, int, int, int, int, int, int, float[], int)}). */
    private static final int TILE_K = 16;

    private Packing() {
    }

    /**
     * Rows {@code [k0, k0 + depth)} of column panel {@code q} (width {@code w}) of op(b) {@code (k, n)}, written from
     * {@code dst[at]}: the value at (p, q*w + j) goes to {@code at + (p - k0)*w + j}, columns past n as zeros.
     */
    static void packColumnPanel(float[] b, int off, boolean transposed, int k, int n, int w, int q, int k0, int depth,
                                float[] dst, int at) {
        int j0 = q * w;
        int cols = Math.min(w, n - j0);
        if (!transposed) {
            // b is (k, n): the panel's w values at each p are adjacent in memory.
            for (int p = 0; p < depth; p++) {
                int d = at + p * w;
                System.arraycopy(b, off + (k0 + p) * n + j0, dst, d, cols);
                Arrays.fill(dst, d + cols, d + w, 0f);
            }
            return;
        }
        // b is (n, k): a transpose in tiles of TILE_K values of each row, so that each row's reads stay sequential
        // and the tile's destination lines stay in cache across the rows (row-at-a-time writes at stride w
        // thrashed them).
        for (int p0 = 0; p0 < depth; p0 += TILE_K) {
            int p1 = Math.min(depth, p0 + TILE_K);
            for (int r = 0; r < cols; r++) {
                int src = off + (j0 + r) * k + k0;
                for (int p = p0; p < p1; p++) {
                    dst[at + p * w + r] = b[src + p];
                }
            }
            zeroColumns(dst, at, w, cols, p0, p1);
        }
    }

    /**
     * {@link #packColumnPanel(float[], int, boolean, int, int, int, int, int, int, float[], int)} from a stored
     * weight, converted to float32 as it is packed: the same panel, value for value, as packing the converted weight.
     */
    static void packColumnPanel(StoredMatrix b, boolean transposed, int k, int n, int w, int q, int k0, int depth,
                                float[] dst, int at) {
        int j0 = q * w;
        int cols = Math.min(w, n - j0);
        if (!transposed) {
            for (int p = 0; p < depth; p++) {
                int d = at + p * w;
                b.read((long) (k0 + p) * n + j0, dst, d, cols);
                Arrays.fill(dst, d + cols, d + w, 0f);
            }
            return;
        }
        float[] tile = new float[TILE_K];
        for (int p0 = 0; p0 < depth; p0 += TILE_K) {
            int p1 = Math.min(depth, p0 + TILE_K);
            for (int r = 0; r < cols; r++) {
                b.read((long) (j0 + r) * k + k0 + p0, tile, 0, p1 - p0);
                for (int p = p0; p < p1; p++) {
                    dst[at + p * w + r] = tile[p - p0];
                }
            }
            zeroColumns(dst, at, w, cols, p0, p1);
        }
    }

    /** Columns {@code [cols, w)} of the panel rows {@code [p0, p1)} from {@code dst[at]}: past the matrix edge. */
    private static void zeroColumns(float[] dst, int at, int w, int cols, int p0, int p1) {
        for (int r = cols; r < w; r++) {
            for (int p = p0; p < p1; p++) {
                dst[at + p * w + r] = 0f;
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
