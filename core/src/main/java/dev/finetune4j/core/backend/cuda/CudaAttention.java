package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.autograd.AttentionMask;
import dev.finetune4j.core.backend.AttentionKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Scaled dot-product attention (attention.cu): one block per (batch, head, query) with the query's scores in
 * shared memory. The mask's host arrays are uploaded when they differ from the last ones (so once for all the
 * layers of a forward pass) and kept on the device.
 */
final class CudaAttention implements AttentionKernels {
    private final CudaRuntime rt;
    private boolean[][] uploadedKeyValid;
    private int[][] uploadedSegments;
    private long keyValid;
    private long keyValidBytes;
    private long segments;
    private long segmentsBytes;

    CudaAttention(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public synchronized void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                          Tensor logSumExp) {
        long[] dims = dims(q, k);
        try (Scratch s = rt.scratch(); KernelArgs a = new KernelArgs()) {
            a.ptr(s.f32(q)).ptr(s.f32(k)).ptr(s.f32(v)).longs(dims).f32(scale);
            maskArgs(a, mask);
            a.ptr(rt.address(out)).ptr(rt.address(logSumExp));
            rt.kernels.launch("attention", "attention_forward", q.numel() / dims[5], sharedBytes(dims, 1), a);
        }
    }

    @Override
    public synchronized void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                               Tensor out, Tensor logSumExp, Tensor dOut, Tensor dq, Tensor dk,
                                               Tensor dv) {
        long[] dims = dims(q, k);
        try (Scratch s = rt.scratch(); KernelArgs a = new KernelArgs()) {
            rt.driver.memsetAsync(rt.address(dk), (byte) 0, dk.numel() * Float.BYTES, rt.context.stream());
            rt.driver.memsetAsync(rt.address(dv), (byte) 0, dv.numel() * Float.BYTES, rt.context.stream());
            a.ptr(s.f32(q)).ptr(s.f32(k)).ptr(s.f32(v)).longs(dims).f32(scale);
            maskArgs(a, mask);
            a.ptr(s.f32(out)).ptr(s.f32(logSumExp)).ptr(s.f32(dOut)).ptr(rt.address(dq)).ptr(rt.address(dk))
                    .ptr(rt.address(dv));
            rt.kernels.launch("attention", "attention_backward", q.numel() / dims[5], sharedBytes(dims, 2), a);
        }
    }

    /** {B, H, Hkv, T, S, D}, checked. */
    private static long[] dims(Tensor q, Tensor k) {
        if (q.rank() != 4 || k.rank() != 4 || q.dim(0) != k.dim(0) || q.dim(3) != k.dim(3)
                || k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0 || k.dim(2) < q.dim(2)) {
            throw new IllegalArgumentException("attention: q (B, H, T, D) and k (B, Hkv, S, D) with H a multiple of"
                    + " Hkv and S >= T, got " + q.shape() + " and " + k.shape());
        }
        return new long[]{q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3)};
    }

    private static int sharedBytes(long[] dims, int rowsOfScores) {
        return Math.toIntExact(rowsOfScores * dims[4] * Float.BYTES);
    }

    /**
     * causal, keyValid (B, S) bytes or 0, segments (B, S) ints or 0. Callers hold this object's lock until the
     * launch is queued, so that another thread's mask cannot replace the buffers in between.
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
        a.i32(mask.causal() ? 1 : 0).ptr(keyValid).ptr(segments);
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
