package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Batched products over the CPU gemm. A frozen weight as the right operand ({@code x W^T}, {@code dy W}) is
 * read from its packed layouts ({@link FrozenWeights}) instead of being re-packed at every call.
 */
final class CpuMatmul implements MatmulKernels {
    /**
     * Floats of an NF4 weight dequantized at a time (16 MiB), and the size above which a float32 weight outside the
     * frozen-weight cache is packed from its storage instead of copied onto the heap first.
     */
    private static final int BLOCK_FLOATS = 1 << 22;

    private final GemmKernel kernel;

    CpuMatmul(GemmKernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public void gemm(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, boolean accumulate) {
        int m = c.dim(-2);
        int n = c.dim(-1);
        int k = transposeA ? a.dim(-2) : a.dim(-1);
        int aRows = transposeA ? a.dim(-1) : a.dim(-2);
        int bInner = transposeB ? b.dim(-1) : b.dim(-2);
        int bCols = transposeB ? b.dim(-2) : b.dim(-1);
        if (aRows != m || bInner != k || bCols != n) {
            throw new IllegalArgumentException("gemm: " + a.shape() + (transposeA ? "^T" : "") + " x " + b.shape()
                    + (transposeB ? "^T" : "") + " does not give " + c.shape());
        }
        int batch = Math.toIntExact(c.numel() / Math.max(1, (long) m * n));
        int aStride = a.rank() == 2 ? 0 : m * k;
        int bStride = b.rank() == 2 ? 0 : k * n;
        checkBatch(a, aStride, batch, (long) m * k);
        checkBatch(b, bStride, batch, (long) k * n);
        boolean bf16Out = c.dtype() == DType.BF16;
        if (bf16Out && (a.dtype() != DType.BF16 || b.dtype() != DType.BF16 && b.dtype() != DType.NF4
                || !c.isContiguous())) {
            throw new IllegalArgumentException("gemm writes bf16 output tensors only from bf16 operands (or an NF4 "
                    + "weight) and only contiguous ones, got " + a + " x " + b + " into " + c);
        }
        float[] av = CpuTensors.read(a);
        float[] cv;
        if (bf16Out) {
            cv = accumulate ? CpuTensors.copy(c) : CpuTensors.floatOutput(c);
        } else {
            cv = accumulate ? CpuTensors.accumulator(c) : CpuTensors.output(c);
        }
        // alpha != 1 with accumulation: the product goes to scratch first, then c += alpha * product
        boolean scratch = accumulate && alpha != 1f;
        float[] target = scratch ? new float[cv.length] : cv;
        boolean add = accumulate && !scratch;
        // an NF4 weight beside a bf16 operand multiplies as bf16 values: converted by blocks, not from the float32 cache
        boolean nf4AsBf16 = b.dtype() == DType.NF4 && a.dtype() == DType.BF16;
        FrozenWeights.Entry frozen = bStride == 0 && !nf4AsBf16 ? FrozenWeights.of(b) : null;
        if (bStride == 0 && frozen == null && b.dtype() == DType.NF4) {
            byConvertedBlocks(av, transposeA, b, nf4AsBf16, transposeB, target, m, n, k, batch, add);
        } else if (bStride == 0 && frozen == null && (b.dtype() != DType.F32 || b.numel() > BLOCK_FLOATS)) {
            // a bf16/f16 weight, or a float32 one too large for the frozen-weight cache, is packed from where it is
            // stored (converted as it is packed) rather than copied whole onto the heap at every call
            StoredMatrix stored = StoredMatrix.of(b);
            batched(batch, i -> kernel.gemm(av, i * aStride, transposeA, stored, transposeB, target, i * m * n,
                    m, n, k, add));
        } else if (frozen != null) {
            PackedMatrix packed = transposeB ? frozen.transposed(kernel) : frozen.plain(kernel);
            batched(batch, i -> kernel.gemm(av, i * aStride, transposeA, packed, target, i * m * n, m, add));
        } else {
            float[] bv = CpuTensors.read(b);
            batched(batch, i -> kernel.gemm(av, i * aStride, transposeA, bv, i * bStride, transposeB, target, i * m * n,
                    m, n, k, add));
        }
        if (scratch) {
            for (int i = 0; i < cv.length; i++) {
                cv[i] += alpha * target[i];
            }
        } else if (alpha != 1f) {
            for (int i = 0; i < cv.length; i++) {
                cv[i] *= alpha;
            }
        }
        CpuTensors.commit(c, cv);
    }

    /**
     * {@code target (+)= op(a) op(b)} for an NF4 matrix {@code b} beyond the frozen-weight cache, dequantized a block
     * of rows at a time ({@value #BLOCK_FLOATS} floats), so it is never dequantized as a whole, each block rounded to
     * bf16 when {@code asBf16}. With {@code transposeB} (x W^T) a block of W's rows gives a block of output columns;
     * without it (dy W) a block of W's rows meets the matching columns of {@code a}.
     */
    private void byConvertedBlocks(float[] av, boolean transposeA, Tensor b, boolean asBf16, boolean transposeB,
                                   float[] target, int m, int n, int k, int batch, boolean add) {
        int rows = m * batch;
        if (transposeA && batch > 1) {
            throw new IllegalArgumentException("a transposed batched left operand with an NF4 right operand is not supported");
        }
        if (transposeB) {
            int block = Math.max(1, Math.min(n, BLOCK_FLOATS / Math.max(1, k)));
            for (int j0 = 0; j0 < n; j0 += block) {
                int cols = Math.min(block, n - j0);
                float[] w = rounded(CpuTensors.rows(b, j0, cols), asBf16);
                float[] part = new float[rows * cols];
                kernel.gemm(av, 0, transposeA, w, 0, true, part, 0, rows, cols, k, false);
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < cols; j++) {
                        int at = r * n + j0 + j;
                        target[at] = add ? target[at] + part[r * cols + j] : part[r * cols + j];
                    }
                }
            }
        } else {
            int block = Math.max(1, Math.min(k, BLOCK_FLOATS / Math.max(1, n)));
            for (int k0 = 0; k0 < k; k0 += block) {
                int inner = Math.min(block, k - k0);
                float[] w = rounded(CpuTensors.rows(b, k0, inner), asBf16);
                float[] aPart = columns(av, transposeA, rows, k, k0, inner);
                kernel.gemm(aPart, 0, false, w, 0, false, target, 0, rows, n, inner, add || k0 > 0);
            }
        }
    }

    /** {@code values} rounded to bf16 in place when {@code asBf16}; returns them. */
    private static float[] rounded(float[] values, boolean asBf16) {
        if (asBf16) {
            for (int i = 0; i < values.length; i++) {
                values[i] = DTypeConversions.roundToBf16(values[i]);
            }
        }
        return values;
    }

    /** Columns {@code [k0, k0 + count)} of op(a) (rows, k) as a (rows, count) matrix. */
    private static float[] columns(float[] a, boolean transposeA, int rows, int k, int k0, int count) {
        float[] out = new float[rows * count];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < count; c++) {
                out[r * count + c] = transposeA ? a[(k0 + c) * rows + r] : a[r * k + k0 + c];
            }
        }
        return out;
    }

    private static void checkBatch(Tensor t, int stride, int batch, long matrix) {
        if (stride != 0 && t.numel() != batch * matrix) {
            throw new IllegalArgumentException("gemm: operand " + t.shape() + " has neither the output's " + batch
                    + " batches nor rank 2");
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException("gemm operands must be contiguous, got " + t + " with strides "
                    + java.util.Arrays.toString(t.strides()));
        }
    }

    private static void batched(int batch, IntConsumer body) {
        if (batch == 1) {
            body.accept(0);
        } else {
            IntStream.range(0, batch).parallel().forEach(body);
        }
    }
}
