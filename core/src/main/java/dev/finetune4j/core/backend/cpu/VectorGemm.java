package dev.finetune4j.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Vector API matrix product in the Goto/BLIS structure: B is packed into column panels ({@link Packing}), or
 * packed once by {@link #pack} for frozen weights; A is read as rows where it lies (a row-major A is never copied,
 * a transposed one is laid out as rows); C is cut into blocks of {@value #MC} rows by a share of the columns that
 * threads take from the common pool, and inside a block a k-slice of {@value #KC} runs a register-blocked
 * micro-kernel over every {@code MR x NR} tile. Products with at most 8 rows or columns (LoRA's rank-r factors)
 * go to {@link SkinnyGemm} instead.
 *
 * <p>The micro-kernel holds a tile of {@link #MR} = 6 rows by 2 vectors of C in 12 accumulators; with the
 * 2 vectors of B and the broadcast of A that is 15 registers, which fits AVX2's 16 (AVX-512 has 32). Each step
 * of k loads 2 vectors and 6 scalars for 12 fused multiply-adds.
 */
final class VectorGemm implements GemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 6;
    static final int NR = 2 * L;
    /** k-slice: a B micro-panel slice (KC x NR floats, 16 KiB at AVX2) stays in L1 while A tiles pass by. */
    private static final int KC = 256;
    /** Rows per task: the task's A slice (MC x KC floats, 96 KiB) stays in L2 across its column panels. */
    private static final int MC = 96;
    /** Below this many multiply-adds a product runs on the calling thread: forking would cost more. */
    private static final long PARALLEL_MIN_FMAS = 1L << 20;
    /** Packed buffers up to this many floats (16 MiB) are kept per thread for reuse; larger ones are not. */
    private static final int RETAINED_FLOATS = 1 << 22;
    /** Rows of B packed at once when B is too large to pack whole: whole {@link #KC} slices. */
    private static final int KB = 16 * KC;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    @Override
    public String name() {
        return "vector-" + L * 32 + "bit";
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, float[] b, int bOff, boolean transposeB,
                     float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        if (isEmpty(c, cOff, m, n, k, accumulate)) {
            return;
        }
        if (transposeA && !transposeB && m > 2 * n) {
            // C = A^T B computed as (B^T A)^T: the kernel needs a transposed A laid out as rows (a scalar
            // transpose of m x k values) while B is packed by row copies, so the narrow operand takes the transpose.
            // This is the shape of weight gradients of wide layers with narrow inputs (LoRA's B: m = out, n = r).
            float[] ct = new float[n * m];
            gemm(b, bOff, true, a, aOff, false, ct, 0, n, m, k, false);
            for (int i = 0; i < m; i++) {
                int ci = cOff + i * n;
                for (int j = 0; j < n; j++) {
                    c[ci + j] = accumulate ? c[ci + j] + ct[j * m + i] : ct[j * m + i];
                }
            }
            return;
        }
        boolean parallel = parallel(m, n, k);
        if (m <= SkinnyGemm.MAX && !transposeB) {
            SkinnyGemm.fewRows(a, aOff, transposeA, b, bOff, c, cOff, m, n, k, accumulate, parallel);
            return;
        }
        product(a, aOff, transposeA,
                (dst, at, w, q, k0, depth) -> Packing.packColumnPanel(b, bOff, transposeB, k, n, w, q, k0, depth, dst, at),
                c, cOff, m, n, k, accumulate, parallel);
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, StoredMatrix b, boolean transposeB,
                     float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        if (isEmpty(c, cOff, m, n, k, accumulate)) {
            return;
        }
        if (transposeA && !transposeB && m > 2 * n) {
            // the float32 path turns this product around and reads b as the left operand; b (k, n) is then
            // narrower than a (k, m), already a float32 array, so converting it whole costs less than a does
            gemm(a, aOff, true, b.toFloats(Math.multiplyExact(k, n)), 0, false, c, cOff, m, n, k, accumulate);
            return;
        }
        boolean parallel = parallel(m, n, k);
        if (m <= SkinnyGemm.MAX && !transposeB) {
            SkinnyGemm.fewRows(a, aOff, transposeA, b, c, cOff, m, n, k, accumulate, parallel);
            return;
        }
        product(a, aOff, transposeA,
                (dst, at, w, q, k0, depth) -> Packing.packColumnPanel(b, transposeB, k, n, w, q, k0, depth, dst, at),
                c, cOff, m, n, k, accumulate, parallel);
    }

    /**
     * Packs rows {@code [k0, k0 + depth)} of column panel {@code q} (width {@code w}) of op(b) into {@code dst} from
     * {@code at} ({@link Packing}'s layout).
     */
    @FunctionalInterface
    private interface PanelPacker {
        void pack(float[] dst, int at, int w, int q, int k0, int depth);
    }

    /**
     * C (+)= op(a) op(b) with op(b) packed by {@code b}: few columns by {@link SkinnyGemm}, else by panels. B is
     * packed a block at a time, at most {@value #RETAINED_FLOATS} floats (or one panel of {@value #KB} rows): a
     * (151,936 x 896) weight is never packed whole. Blocks over k are whole {@value #KC} slices, so every sum runs
     * as in one block.
     */
    private static void product(float[] a, int aOff, boolean transposeA, PanelPacker b, float[] c, int cOff, int m,
                                int n, int k, boolean accumulate, boolean parallel) {
        if (n <= SkinnyGemm.MAX && !transposeA && SkinnyGemm.EIGHT_LANES_NATIVE) {
            float[] bp = new float[k * SkinnyGemm.MAX];
            b.pack(bp, 0, SkinnyGemm.MAX, 0, 0, k);
            SkinnyGemm.fewColumns(a, aOff, bp, c, cOff, m, n, k, accumulate, parallel);
            return;
        }
        Scratch scratch = SCRATCH.get();
        boolean borrowed = scratch.acquire();
        try {
            RowsOfA rows = rowsOfA(a, aOff, transposeA, m, k, parallel, borrowed ? scratch : null);
            int colPanels = (n + NR - 1) / NR;
            int depth = (long) colPanels * NR * k <= RETAINED_FLOATS ? k : Math.min(k, KB);
            int panels = (int) Math.max(1, Math.min(colPanels, RETAINED_FLOATS / ((long) NR * depth)));
            for (int first = 0; first < colPanels; first += panels) {
                for (int k0 = 0; k0 < k; k0 += depth) {
                    BlockOfB block = new BlockOfB(first, Math.min(panels, colPanels - first), k0, Math.min(depth, k - k0));
                    int size = block.panels() * NR * block.depth();
                    float[] bp = borrowed ? scratch.b(size) : new float[size];
                    forEach(block.panels(), parallel, q -> b.pack(bp, q * NR * block.depth(), NR, block.first() + q,
                            block.k0(), block.depth()));
                    multiply(rows, bp, block, c, cOff, m, n, k, accumulate || k0 > 0, parallel);
                }
            }
        } finally {
            if (borrowed) {
                scratch.release();
            }
        }
    }

    @Override
    public PackedMatrix pack(float[] b, int bOff, boolean transposeB, int k, int n) {
        int colPanels = (n + NR - 1) / NR;
        float[] bp = new float[colPanels * NR * k];
        forEach(colPanels, false, q -> Packing.packColumnPanel(b, bOff, transposeB, k, n, NR, q, 0, k, bp, q * NR * k));
        return new Panels(k, n, bp);
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, PackedMatrix b, float[] c, int cOff, int m,
                     boolean accumulate) {
        if (!(b instanceof Panels panels)) {
            throw new IllegalArgumentException("a " + b.getClass().getSimpleName() + " was packed by another kernel than " + name());
        }
        int n = panels.n();
        int k = panels.k();
        if (isEmpty(c, cOff, m, n, k, accumulate)) {
            return;
        }
        boolean parallel = parallel(m, n, k);
        Scratch scratch = SCRATCH.get();
        boolean borrowed = scratch.acquire();
        try {
            RowsOfA rows = rowsOfA(a, aOff, transposeA, m, k, parallel, borrowed ? scratch : null);
            multiply(rows, panels.values(), new BlockOfB(0, (n + NR - 1) / NR, 0, k), c, cOff, m, n, k, accumulate,
                    parallel);
        } finally {
            if (borrowed) {
                scratch.release();
            }
        }
    }

    /** op(b) in column panels of width {@link #NR} ({@link Packing}), for many products. */
    private record Panels(int k, int n, float[] values) implements PackedMatrix {
        @Override
        public long floats() {
            return values.length;
        }
    }

    /** Handles a product with no work: nothing when C is empty, C cleared (unless accumulating) when k is 0. */
    private static boolean isEmpty(float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        if (m > 0 && n > 0 && k > 0) {
            return false;
        }
        if (!accumulate && n > 0) {
            for (int i = 0; i < m; i++) {
                Arrays.fill(c, cOff + i * n, cOff + (i + 1) * n, 0f);
            }
        }
        return true;
    }

    private static boolean parallel(int m, int n, int k) {
        // NOTE: callers such as attention already run one product per pool thread; forking again from inside
        // the pool only adds overhead (and work stealing could re-enter this thread's scratch buffers).
        return Runtime.getRuntime().availableProcessors() > 1 && (long) m * n * k >= PARALLEL_MIN_FMAS
                && !ForkJoinTask.inForkJoinPool();
    }

    /**
     * op(a) (m, k) as the kernel reads it: rows of k values, {@code rows[offset + i*k ..]}, except the last partial
     * panel's, which {@code tail} (or null) holds zero-padded to {@link #MR} rows.
     */
    private record RowsOfA(float[] rows, int offset, float[] tail) {
    }

    /** Column panels {@code [first, first + panels)} of op(b), rows {@code [k0, k0 + depth)}, as packed at once. */
    private record BlockOfB(int first, int panels, int k0, int depth) {
    }

    /**
     * op(a) laid out as rows: a row-major A is read where it lies (only a partial last panel is copied,
     * zero-padded); a transposed A is laid out as rows first, in {@code scratch}'s buffer when one is lent.
     */
    private static RowsOfA rowsOfA(float[] a, int aOff, boolean transposeA, int m, int k, boolean parallel,
                                   Scratch scratch) {
        if (transposeA) {
            int rowPanels = (m + MR - 1) / MR;
            float[] rows = scratch != null ? scratch.a(rowPanels * MR * k) : new float[rowPanels * MR * k];
            forEach(rowPanels, parallel, q -> Packing.transposeRowPanel(a, aOff, m, k, MR, rows, q));
            return new RowsOfA(rows, 0, null);
        }
        return new RowsOfA(a, aOff, m % MR == 0 ? null : Packing.paddedRows(a, aOff + (m - m % MR) * k, m % MR, k, MR));
    }

    /** C (+)= op(a) times the block of B packed in {@code bp}: C's columns of that block, over its k rows. */
    private static void multiply(RowsOfA a, float[] bp, BlockOfB b, float[] c, int cOff, int m, int n, int k,
                                 boolean accumulate, boolean parallel) {
        int rowPanels = (m + MR - 1) / MR;
        int threads = Runtime.getRuntime().availableProcessors();
        int panelsPerRowBlock = MC / MR;
        int rowBlocks = (rowPanels + panelsPerRowBlock - 1) / panelsPerRowBlock;
        // Split columns too until there are enough tasks to balance (small m: the split is all columns).
        int wanted = parallel ? 8 * threads : 1;
        int colBlocks = Math.min(b.panels(), Math.max(1, (wanted + rowBlocks - 1) / rowBlocks));
        int panelsPerColBlock = (b.panels() + colBlocks - 1) / colBlocks;
        int colBlockCount = (b.panels() + panelsPerColBlock - 1) / panelsPerColBlock;
        forEach(rowBlocks * colBlockCount, parallel, task -> {
            int ip0 = (task / colBlockCount) * panelsPerRowBlock;
            int jp0 = b.first() + (task % colBlockCount) * panelsPerColBlock;
            block(a, bp, b, c, cOff, m, n, k, accumulate,
                    ip0, Math.min(rowPanels, ip0 + panelsPerRowBlock),
                    jp0, Math.min(b.first() + b.panels(), jp0 + panelsPerColBlock));
        });
    }

    /**
     * Row panels [ip0, ip1) by column panels [jp0, jp1) of C, over B's block of k rows in slices of {@value #KC}.
     */
    private static void block(RowsOfA a, float[] bp, BlockOfB b, float[] c, int cOff, int m, int n, int k,
                              boolean accumulate, int ip0, int ip1, int jp0, int jp1) {
        if (!accumulate) {
            // Clearing C here (cache-warm, in parallel) lets the kernel always add, with no branch at its stores.
            int j0 = jp0 * NR;
            int j1 = Math.min(n, jp1 * NR);
            for (int i = ip0 * MR; i < Math.min(m, ip1 * MR); i++) {
                Arrays.fill(c, cOff + i * n + j0, cOff + i * n + j1, 0f);
            }
        }
        int lastFull = m / MR;
        float[] edge = new float[MR * NR];
        int k1 = b.k0() + b.depth();
        for (int p0 = b.k0(); p0 < k1; p0 += KC) {
            int kc = Math.min(KC, k1 - p0);
            for (int jp = jp0; jp < jp1; jp++) {
                int bo = (jp - b.first()) * NR * b.depth() + (p0 - b.k0()) * NR;
                for (int ip = ip0; ip < ip1; ip++) {
                    if (ip < lastFull || a.tail() == null) {
                        tile(a.rows(), a.offset() + ip * MR * k + p0, k, bp, bo, kc, c, cOff, m, n, ip * MR, jp * NR, edge);
                    } else {
                        tile(a.tail(), p0, k, bp, bo, kc, c, cOff, m, n, ip * MR, jp * NR, edge);
                    }
                }
            }
        }
    }

    /**
     * C[i0 .. i0+MR)[j0 .. j0+NR) += A tile (MR rows of kc values, row {@code r} at {@code a[ao + r*lda]})
     * times packed B tile (kc x NR).
     *
     * <p>NOTE: the accumulators stay local to this method on purpose. Passing vectors to a helper that C2 does
     * not inline (it hit NodeCountInliningCutoff here) boxes them, which measured 3-5x slower.
     */
    private static void tile(float[] a, int ao, int lda, float[] bp, int bo, int kc, float[] c, int cOff, int m, int n,
                             int i0, int j0, float[] edge) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        // one index per row, each advancing by 1: the JIT can then hoist all six bounds checks out of the loop
        int a0 = ao;
        int a1 = ao + lda;
        int a2 = ao + 2 * lda;
        int a3 = ao + 3 * lda;
        int a4 = ao + 4 * lda;
        int a5 = ao + 5 * lda;
        for (int p = 0; p < kc; p++) {
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        if (i0 + MR <= m && j0 + NR <= n) {
            int ci = cOff + i0 * n + j0;
            c00.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c01.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            ci += n;
            c10.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c11.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            ci += n;
            c20.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c21.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            ci += n;
            c30.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c31.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            ci += n;
            c40.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c41.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            ci += n;
            c50.add(FloatVector.fromArray(S, c, ci)).intoArray(c, ci);
            c51.add(FloatVector.fromArray(S, c, ci + L)).intoArray(c, ci + L);
            return;
        }
        // Edge tile: spill the accumulators and write only the part inside C.
        c00.intoArray(edge, 0);
        c01.intoArray(edge, L);
        c10.intoArray(edge, NR);
        c11.intoArray(edge, NR + L);
        c20.intoArray(edge, 2 * NR);
        c21.intoArray(edge, 2 * NR + L);
        c30.intoArray(edge, 3 * NR);
        c31.intoArray(edge, 3 * NR + L);
        c40.intoArray(edge, 4 * NR);
        c41.intoArray(edge, 4 * NR + L);
        c50.intoArray(edge, 5 * NR);
        c51.intoArray(edge, 5 * NR + L);
        int rows = Math.min(MR, m - i0);
        int cols = Math.min(NR, n - j0);
        for (int r = 0; r < rows; r++) {
            int ci = cOff + (i0 + r) * n + j0;
            for (int j = 0; j < cols; j++) {
                c[ci + j] += edge[r * NR + j];
            }
        }
    }

    static void forEach(int count, boolean parallel, IntConsumer body) {
        if (parallel && count > 1) {
            IntStream.range(0, count).parallel().forEach(body);
        } else {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
        }
    }

    /**
     * One thread's packing buffers, reused across calls. A call that finds them in use (a product started
     * from inside another on the same thread) allocates its own instead.
     */
    private static final class Scratch {
        private float[] a = new float[0];
        private float[] b = new float[0];
        private boolean busy;

        boolean acquire() {
            if (busy) {
                return false;
            }
            busy = true;
            return true;
        }

        void release() {
            busy = false;
            if (a.length > RETAINED_FLOATS) {
                a = new float[0];
            }
            if (b.length > RETAINED_FLOATS) {
                b = new float[0];
            }
        }

        float[] a(int size) {
            if (a.length < size) {
                a = new float[size];
            }
            return a;
        }

        float[] b(int size) {
            if (b.length < size) {
                b = new float[size];
            }
            return b;
        }
    }
}
