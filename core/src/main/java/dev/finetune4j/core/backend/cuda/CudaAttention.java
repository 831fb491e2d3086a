package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.backend.AttentionDropout;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Flash-style scaled dot-product attention (attention.cu, its tensor-core twins in attention_bf16.cu, what they share
 * in attention.cuh): tiles of {@value #TILE} queries and keys in shared memory, an online softmax, no (T, S) matrix
 * anywhere. The backward runs three kernels: the rows' dOut . out, then dk and dv per key tile (looping over the
 * group's query heads, so no atomics), then dq per query tile; both recompute the probabilities from the forward's
 * log-sum-exp and neither depends on scheduling. A causal mask and a sliding window skip whole tiles: the key tiles no
 * query of a tile may see, and in dk, dv the query tiles that cannot see the key tile, so a window w costs O(T w), not
 * O(T S). Scores are soft-capped in the kernels when asked (Gemma 2). Head dimensions up to {@value #MAX_HEAD_DIM}
 * (Gemma 4's full-attention layers): past {@value #NARROW_HEAD_DIM} the f32 kernels take their *_d256 variants, with
 * tiles of {@value #WIDE_HEAD_TILE} queries and keys, and past {@value #WIDE_HEAD_DIM} (Gemma's 256) their *_d512
 * ones, with tiles of {@value #WIDEST_HEAD_TILE}, so that their shared tiles fit a block (134 KiB at D = 512, within
 * an A100's). With bf16 q, k and v (BF16_MIXED) and a head dimension that is a multiple of 16 up to
 * {@value #TENSOR_CORE_MAX_HEAD_DIM}, all but the delta kernel run on tensor cores (the
 * *_bf16 kernels: {@value #TENSOR_CORE_ROWS} queries or keys a block, bf16 products with f32 accumulation, the
 * softmax and its gradient in f32; dOut is rounded to bf16 for the products; the forward and dk, dv have variants
 * for D <= {@value #TENSOR_CORE_SMALL_HEAD_DIM} that fit two blocks an SM, the forward one for D up to
 * {@value #TENSOR_CORE_MAX_HEAD_DIM}; past {@value #NARROW_HEAD_DIM} the dq and dk, dv kernels run one grid slice per
 * {@value #NARROW_HEAD_DIM} output columns, each recomputing the scores, as their accumulators would not fit
 * registers), when their shared memory fits the card's blocks (at D = 256 the dq kernel's 198 KiB fit Hopper's
 * 227 KiB, not an A100's 163 KiB); other inputs take the f32 kernels (bf16 inputs converted). Keys and values are
 * read where they lie when their rows are contiguous in the kernel's dtype and aligned for its loads (a KV cache's
 * filled part). The mask's host arrays are uploaded when they differ from the last ones (so once for all the layers
 * of a forward pass) and kept on the device.
 *
 * <p>With an {@link AttentionDropout}, every kernel but the delta runs its {@value #DROPOUT_SUFFIX} twin (the same
 * code compiled with dropout, the kernels without it unchanged): the forward multiplies each probability by its
 * factor, drawn on the device by the Philox of philox.cuh (the CPU's numbers bit for bit), after the softmax's sum, so
 * the log-sum-exp is the one before dropout; the backward redraws the factors, for p in dv and for dp. On tensor cores
 * dropout at D <= {@value #TENSOR_CORE_SMALL_HEAD_DIM} runs the kernels for D up to {@value #NARROW_HEAD_DIM}: the
 * draws do not fit the 128 registers of the small variants' two blocks an SM.
 */
final class CudaAttention implements AttentionKernels {
    /** Queries per query tile and keys per key tile (ATT_TILE of attention.cuh). */
    static final int TILE = 64;
    /** The largest head dimension the kernels take (ATT_MAX_D of attention.cuh): the f32 *_d512 kernels'. */
    static final int MAX_HEAD_DIM = 512;
    /**
     * The largest head dimension of the f32 kernels with {@value #TILE}-row tiles (16 ATT_DCOLS columns a thread row
     * of attention.cu) and the columns a slice of the tensor-core dq and dk, dv kernels writes (8 ATT_TC_OUT_TILES of
     * attention_bf16.cu); larger ones take the *_d256 variants.
     */
    static final int NARROW_HEAD_DIM = 128;
    /** The largest head dimension of the f32 *_d256 kernels (16 ATT_DCOLS_D256 of attention.cu). */
    static final int WIDE_HEAD_DIM = 256;
    /** Queries per query tile and keys per key tile of the f32 *_d256 kernels (16 ATT_PER_D256 of attention.cu). */
    static final int WIDE_HEAD_TILE = 32;
    /** Queries per query tile and keys per key tile of the f32 *_d512 kernels (16 ATT_PER_D512 of attention.cu). */
    static final int WIDEST_HEAD_TILE = 16;
    /** Row stride, in floats, of the kernels' probability tile (ATT_P_STRIDE of attention.cu). */
    static final int P_STRIDE = 80;
    /** Threads per block the kernels are written for (ATT_THREADS of attention.cuh). */
    static final int THREADS = 256;
    /**
     * Queries (forward, dq) or keys (dk, dv) per block of the tensor-core kernels: 8 warps of 16 (ATT_TC_ROWS of
     * attention_bf16.cu).
     */
    static final int TENSOR_CORE_ROWS = 128;
    /** Elements a bf16 shared row of the tensor-core kernels is padded by (ATT_TC_PAD of attention_bf16.cu). */
    static final int TENSOR_CORE_PAD = 8;
    /**
     * The largest head dimension of the tensor-core kernels (ATT_TC_MAX_D of attention_bf16.cu); larger ones take the
     * f32 kernels, converted: the forward's accumulators would not fit registers, nor dq's tiles a block.
     */
    static final int TENSOR_CORE_MAX_HEAD_DIM = 256;
    /** The tensor-core kernels' head dimensions are multiples of the bf16 mma's k. */
    static final int TENSOR_CORE_D_MULTIPLE = 16;
    /** Queries per inner tile of the tensor-core dk, dv kernel (ATT_TC_KV_QUERIES of attention_bf16.cu). */
    static final int TENSOR_CORE_KV_QUERIES = 32;
    /**
     * The largest head dimension of the *_d64 variants of the tensor-core forward and dk, dv kernels, whose smaller
     * accumulators let two blocks share an SM (8 ATT_TC_OUT_TILES_D64 of attention_bf16.cu).
     */
    static final int TENSOR_CORE_SMALL_HEAD_DIM = 64;
    /** Rows of the tensor-core forward's shared tiles: TENSOR_CORE_ROWS queries, TILE keys and TILE values. */
    static final int TENSOR_CORE_FORWARD_ROWS = TENSOR_CORE_ROWS + 2 * TILE;
    /** Rows of the tensor-core dq kernel's shared tiles: TENSOR_CORE_ROWS each of q and dOut, TILE each of k and v. */
    static final int TENSOR_CORE_Q_ROWS = 2 * TENSOR_CORE_ROWS + 2 * TILE;
    /** Rows of the tensor-core dk, dv kernel's: TENSOR_CORE_ROWS each of k and v, TENSOR_CORE_KV_QUERIES of q, dOut. */
    static final int TENSOR_CORE_KV_ROWS = 2 * TENSOR_CORE_ROWS + 2 * TENSOR_CORE_KV_QUERIES;
    /** The name suffix of the kernels that drop out the probabilities (they take an AttentionDropout argument last). */
    static final String DROPOUT_SUFFIX = "_dropout";
    /** The tensor-core kernels read bf16 rows 16 bytes at a time. */
    private static final int TENSOR_CORE_ALIGNMENT = 16;

    private final CudaRuntime rt;
    private boolean[][] uploadedKeyValid;
    private int[][] uploadedSegments;
    private long keyValid;
    private long keyValidBytes;
    private long segments;
    private long segmentsBytes;

    CudaAttention(CudaRuntime rt) {
        if (CudaKernels.BLOCK != THREADS) {
            throw new IllegalStateException("the attention kernels are written for blocks of " + THREADS
                    + " threads, kernels launch " + CudaKernels.BLOCK);
        }
        this.rt = rt;
    }

    @Override
    public synchronized void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, float softCap,
                                       Tensor sinks, AttentionDropout dropout, Tensor out, Tensor logSumExp) {
        checkShapes(q, k, v);
        boolean tensorCores = onTensorCores(q, k, v);
        DType type = tensorCores ? DType.BF16 : DType.F32;
        int alignment = tensorCores ? TENSOR_CORE_ALIGNMENT : Float.BYTES;
        int headDim = q.dim(3);
        String drop = dropoutSuffix(dropout);
        try (Scratch s = rt.scratch(); KernelArgs a = new KernelArgs()) {
            Rows kr = rows(s, k, type, alignment);
            Rows vr = rows(s, v, type, alignment);
            a.ptr(s.contiguous(q, type, alignment)).ptr(kr.address()).ptr(vr.address()).longs(dims(q, k, kr, vr))
                    .f32(scale).f32(softCap);
            maskArgs(a, mask);
            outArgs(a, out, tensorCores);
            a.ptr(rt.output(logSumExp)).ptr(s.f32OrNull(sinks));
            dropoutArg(a, dropout);
            if (tensorCores) {
                String variant = headDim > NARROW_HEAD_DIM ? "_d256" : smallHeadDimVariant(headDim, dropout);
                rt.kernels.launch("attention_bf16", "attention_forward_bf16" + variant + drop,
                        queryTiles(q, TENSOR_CORE_ROWS), tensorCoreSharedBytes(headDim, TENSOR_CORE_FORWARD_ROWS), a);
            } else {
                rt.kernels.launch("attention", "attention_forward" + f32Variant(headDim) + drop,
                        queryTiles(q, f32TileRows(headDim)), sharedBytes(headDim, 3), a);
            }
        }
    }

    @Override
    public synchronized void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                               float softCap, AttentionDropout dropout, Tensor out,
                                               Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        checkShapes(q, k, v);
        boolean tensorCores = onTensorCores(q, k, v);
        DType type = tensorCores ? DType.BF16 : DType.F32;
        int alignment = tensorCores ? TENSOR_CORE_ALIGNMENT : Float.BYTES;
        int headDim = q.dim(3);
        String drop = dropoutSuffix(dropout);
        try (Scratch s = rt.scratch()) {
            Rows kr = rows(s, k, type, alignment);
            Rows vr = rows(s, v, type, alignment);
            long[] dims = dims(q, k, kr, vr);
            long qAddress = s.contiguous(q, type, alignment);
            long lse = s.f32(logSumExp);
            long dOutAddress = s.contiguous(dOut, type, alignment); // the products read dOut in their dtype
            long delta = s.buffer(logSumExp.numel() * Float.BYTES);
            try (KernelArgs a = new KernelArgs()) {
                // delta reads out and dOut where they are, in their dtypes and layouts
                a.ptr(rt.base(out)).i32(out.dtype().ordinal()).view(out).ptr(rt.base(dOut)).i32(dOut.dtype().ordinal())
                        .view(dOut).longs(dims).ptr(delta);
                int rowsPerBlock = THREADS / 32;
                rt.kernels.launch("attention", "attention_delta", (logSumExp.numel() + rowsPerBlock - 1) / rowsPerBlock,
                        0, a);
            }
            try (KernelArgs a = new KernelArgs()) {
                a.ptr(qAddress).ptr(kr.address()).ptr(vr.address()).longs(dims).f32(scale).f32(softCap);
                maskArgs(a, mask);
                a.ptr(lse).ptr(delta).ptr(dOutAddress).ptr(rt.output(dk)).ptr(rt.output(dv));
                dropoutArg(a, dropout);
                if (tensorCores) {
                    String variant = smallHeadDimVariant(headDim, dropout);
                    long slices = variant.isEmpty() ? columnSlices(headDim) : 1;
                    rt.kernels.launch("attention_bf16", "attention_backward_kv_bf16" + variant + drop,
                            slices * keyTiles(k, TENSOR_CORE_ROWS),
                            tensorCoreSharedBytes(headDim, TENSOR_CORE_KV_ROWS), a);
                } else {
                    rt.kernels.launch("attention", "attention_backward_kv" + f32Variant(headDim) + drop,
                            keyTiles(k, f32TileRows(headDim)), sharedBytes(headDim, 4), a);
                }
            }
            try (KernelArgs a = new KernelArgs()) {
                a.ptr(qAddress).ptr(kr.address()).ptr(vr.address()).longs(dims).f32(scale).f32(softCap);
                maskArgs(a, mask);
                a.ptr(lse).ptr(delta).ptr(dOutAddress).ptr(rt.output(dq));
                dropoutArg(a, dropout);
                if (tensorCores) {
                    rt.kernels.launch("attention_bf16", "attention_backward_q_bf16" + drop,
                            columnSlices(headDim) * queryTiles(q, TENSOR_CORE_ROWS),
                            tensorCoreSharedBytes(headDim, TENSOR_CORE_Q_ROWS), a);
                } else {
                    rt.kernels.launch("attention", "attention_backward_q" + f32Variant(headDim) + drop,
                            queryTiles(q, f32TileRows(headDim)), sharedBytes(headDim, 4), a);
                }
            }
        }
    }

    /**
     * The forward's output as the kernels take it: address, dtype and {@code OutLayout} (batch, head and row strides
     * in elements). Any (B, H, T, D) view with rows of D contiguous F32 or BF16 values, such as the token-major bf16
     * output the attention op keeps; the tensor-core kernels store bf16 values in pairs of 4 bytes.
     */
    private void outArgs(KernelArgs a, Tensor out, boolean tensorCores) {
        AttentionKernels.requireOutputRows(out);
        long[] strides = out.strides();
        boolean pairs = rt.address(out) % 4 == 0 && strides[0] % 2 == 0 && strides[1] % 2 == 0 && strides[2] % 2 == 0;
        if (tensorCores && out.dtype() == DType.BF16 && !pairs) {
            throw new IllegalArgumentException("attention on tensor cores writes a bf16 output two values at a time:"
                    + " it needs a 4-byte aligned view with even strides, got " + out + " with strides "
                    + Arrays.toString(strides));
        }
        a.ptr(rt.address(out)).i32(out.dtype().ordinal()).longs(new long[]{strides[0], strides[1], strides[2]});
    }

    /** Where a key or value tensor's rows lie: a device address and the batch and head strides in elements. */
    private record Rows(long address, long batchStride, long headStride) {
    }

    /**
     * {@code t} itself when its rows of D values are contiguous values of {@code type} that each start at a multiple
     * of {@code alignment} bytes, else a contiguous copy in {@code type}.
     */
    private Rows rows(Scratch s, Tensor t, DType type, int alignment) {
        long[] strides = t.strides();
        long bytes = type.byteSize();
        if (t.dtype() == type && strides[3] == 1 && strides[2] == t.dim(3) && rt.address(t) % alignment == 0
                && strides[0] * bytes % alignment == 0 && strides[1] * bytes % alignment == 0
                && t.dim(3) * bytes % alignment == 0) {
            return new Rows(rt.address(t), strides[0], strides[1]);
        }
        long head = (long) t.dim(2) * t.dim(3);
        return new Rows(s.contiguous(t, type, alignment), t.dim(1) * head, head);
    }

    /**
     * Whether attention runs on tensor cores: q, k and v bf16 (the f32 kernel keeps f32 inputs' precision), a head
     * dimension that is a multiple of the mma's k up to {@value #TENSOR_CORE_MAX_HEAD_DIM}, a card whose tensor cores
     * multiply bf16, and blocks whose shared memory holds the largest of the tensor-core kernels' tiles (dq's; at
     * D = 256 more than an A100 has).
     */
    private boolean onTensorCores(Tensor q, Tensor k, Tensor v) {
        // NOTE: the head dimension's own limit, not the shared memory's alone: dq's tiles at D = 272 and 288 fit
        // Hopper's blocks, and the forward's accumulators hold no more than 256 columns.
        return q.dtype() == DType.BF16 && k.dtype() == DType.BF16 && v.dtype() == DType.BF16
                && q.dim(3) % TENSOR_CORE_D_MULTIPLE == 0 && q.dim(3) <= TENSOR_CORE_MAX_HEAD_DIM
                && rt.kernels.hasBf16TensorCores()
                && tensorCoreSharedBytes(q.dim(3), TENSOR_CORE_Q_ROWS) <= rt.kernels.maxSharedBytes();
    }

    /** The kernels' {@code Dims}: B, H, Hkv, T, S, D, then the batch and head strides of k and of v. */
    private static long[] dims(Tensor q, Tensor k, Rows kRows, Rows vRows) {
        return new long[]{q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), kRows.batchStride(),
                kRows.headStride(), vRows.batchStride(), vRows.headStride()};
    }

    @Override
    public int maxHeadDim() {
        return MAX_HEAD_DIM;
    }

    /** Throws when the shapes do not fit each other or the head dimension is past what the kernels hold. */
    static void checkShapes(Tensor q, Tensor k, Tensor v) {
        if (q.rank() != 4 || k.rank() != 4 || !k.shape().equals(v.shape()) || q.dim(0) != k.dim(0)
                || q.dim(3) != k.dim(3) || k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0 || k.dim(2) < q.dim(2)) {
            throw new IllegalArgumentException("attention: q (B, H, T, D), k and v (B, Hkv, S, D) with H a multiple"
                    + " of Hkv and S >= T, got " + q.shape() + ", " + k.shape() + " and " + v.shape());
        }
        if (q.dim(3) > MAX_HEAD_DIM) {
            throw new IllegalArgumentException("attention on CUDA supports head dimensions up to " + MAX_HEAD_DIM
                    + ", got " + q.dim(3) + " (q " + q.shape() + "); run this model on the CPU backend");
        }
    }

    /** {@value #DROPOUT_SUFFIX} with a dropout, else nothing: the suffix of the kernels to launch. */
    private static String dropoutSuffix(AttentionDropout dropout) {
        return dropout == null ? "" : DROPOUT_SUFFIX;
    }

    /** The dropout kernels' last argument, attention.cuh's {@code AttentionDropout}: p, keepScale, seed, step, site. */
    private static void dropoutArg(KernelArgs a, AttentionDropout dropout) {
        if (dropout != null) {
            DropoutKey key = dropout.key();
            a.floatsThenLongs(new float[]{dropout.p(), dropout.keepScale()}, key.seed(), key.step(), key.site());
        }
    }

    /**
     * The suffix of the tensor-core kernels' variants for small head dimensions (the forward's and dk, dv's); none
     * with dropout, whose kernels have no such variant.
     */
    private static String smallHeadDimVariant(int headDim, AttentionDropout dropout) {
        return headDim <= TENSOR_CORE_SMALL_HEAD_DIM && dropout == null ? "_d64" : "";
    }

    /**
     * The suffix of the f32 kernels' variant for a head dimension: *_d256 past {@value #NARROW_HEAD_DIM}, *_d512 past
     * {@value #WIDE_HEAD_DIM}.
     */
    private static String f32Variant(int headDim) {
        return headDim > WIDE_HEAD_DIM ? "_d512" : headDim > NARROW_HEAD_DIM ? "_d256" : "";
    }

    /** Queries per query tile and keys per key tile of the f32 kernels for a head dimension. */
    static int f32TileRows(long headDim) {
        return headDim > WIDE_HEAD_DIM ? WIDEST_HEAD_TILE : headDim > NARROW_HEAD_DIM ? WIDE_HEAD_TILE : TILE;
    }

    /** Grid slices of the tensor-core dq and dk, dv kernels, each writing {@value #NARROW_HEAD_DIM} columns. */
    static long columnSlices(int headDim) {
        return ceilDiv(headDim, NARROW_HEAD_DIM);
    }

    /** Blocks of a kernel with one block per tile of {@code rows} queries: B * H * ceil(T / rows). */
    private static long queryTiles(Tensor q, int rows) {
        return (long) q.dim(0) * q.dim(1) * ceilDiv(q.dim(2), rows);
    }

    /** Blocks of a kernel with one block per tile of {@code rows} keys: B * Hkv * ceil(S / rows). */
    private static long keyTiles(Tensor k, int rows) {
        return (long) k.dim(0) * k.dim(1) * ceilDiv(k.dim(2), rows);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * Dynamic shared memory of an f32 kernel holding {@code tiles} tiles of f32TileRows(D) rows of D floats and one
     * probability tile of as many rows (row stride P_STRIDE), as attention.cu lays it out: a tile's row stride is D
     * rounded up to a multiple of 4, then made 4 (mod 8) (tile_stride).
     */
    static int sharedBytes(long headDim, int tiles) {
        long stride = ((headDim + 3) & ~3L) | 4;
        long rows = f32TileRows(headDim);
        return Math.toIntExact((tiles * rows * stride + rows * P_STRIDE) * Float.BYTES);
    }

    /**
     * Dynamic shared memory of a tensor-core kernel holding {@code rows} bf16 rows of D values in all its tiles, at a
     * row stride of D + TENSOR_CORE_PAD elements (the forward: TENSOR_CORE_ROWS queries, TILE keys and TILE values).
     */
    static int tensorCoreSharedBytes(long headDim, int rows) {
        return Math.toIntExact(rows * (headDim + TENSOR_CORE_PAD) * Short.BYTES);
    }

    /**
     * causal, window (0 for none), keyValid (B, S) bytes or 0, segments (B, S) ints or 0. Callers hold this object's
     * lock until the launch is queued, so that another thread's mask cannot replace the buffers in between.
     */
    private void maskArgs(KernelArgs a, AttentionMask mask) {
        if (!Arrays.deepEquals(mask.keyValid(), uploadedKeyValid)
                || !Arrays.deepEquals(mask.segments(), uploadedSegments)) {
            releaseMask();
            if (mask.keyValid() != null) {
                boolean[][] kv = mask.keyValid();
                byte[] bytes = new byte[kv.length * kv[0].length];
                for (int b = 0; b < kv.length; b++) {
                    for (int j = 0; j < kv[b].length; j++) {
                        bytes[b * kv[0].length + j] = (byte) (kv[b][j] ? 1 : 0);
                    }
                }
                keyValidBytes = bytes.length;
                keyValid = upload(MemorySegment.ofArray(bytes));
            }
            if (mask.segments() != null) {
                int[][] seg = mask.segments();
                int[] ints = new int[seg.length * seg[0].length];
                for (int b = 0; b < seg.length; b++) {
                    System.arraycopy(seg[b], 0, ints, b * seg[0].length, seg[b].length);
                }
                segmentsBytes = (long) ints.length * Integer.BYTES;
                segments = upload(MemorySegment.ofArray(ints));
            }
            // Copies, so that a caller refilling the same arrays for the next step is seen as a new mask.
            uploadedKeyValid = mask.keyValid() == null ? null : deepCopy(mask.keyValid());
            uploadedSegments = mask.segments() == null ? null : Arrays.stream(mask.segments()).map(int[]::clone)
                    .toArray(int[][]::new);
        }
        a.i32(mask.causal() ? 1 : 0).i32(mask.window()).ptr(keyValid).ptr(segments);
    }

    private long upload(MemorySegment host) {
        long p = rt.allocator.allocate(Math.max(1, host.byteSize()));
        rt.staging.upload(host, p);
        return p;
    }

    private void releaseMask() {
        if (keyValid != 0) {
            rt.allocator.release(keyValid, Math.max(1, keyValidBytes));
        }
        if (segments != 0) {
            rt.allocator.release(segments, Math.max(1, segmentsBytes));
        }
        keyValid = 0;
        segments = 0;
        uploadedKeyValid = null;
        uploadedSegments = null;
    }

    private static boolean[][] deepCopy(boolean[][] a) {
        boolean[][] out = new boolean[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}
