package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Locale;

/**
 * Strided-batched GEMMs through cuBLAS with float32 accumulation. cuBLAS is column-major, so the row-major
 * {@code c = a b} is computed as the column-major {@code c^T = b^T a^T}: the operands swap places and a row-major
 * matrix is read as its column-major transpose. An NF4 weight is dequantized a block of rows at a time into one
 * scratch buffer, never as a whole.
 */
final class CudaMatmul implements MatmulKernels {
    /** Floats of an NF4 weight dequantized at a time (16 MiB). */
    private static final long NF4_BLOCK_FLOATS = 1 << 22;

    private final CudaRuntime rt;

    CudaMatmul(CudaRuntime rt) {
        this.rt = rt;
    }

    @Override
    public void gemm(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha,
                     boolean accumulate) {
        int m = c.dim(c.rank() - 2);
        int n = c.dim(c.rank() - 1);
        int k = transposeA ? a.dim(a.rank() - 2) : a.dim(a.rank() - 1);
        long batches = c.numel() / Math.max(1, (long) m * n);
        if ((long) m * n == 0) {
            return;
        }
        Output out = output(a, b, c);
        if (k == 0) {
            if (!accumulate) {
                rt.context.queue(() -> "memset (empty products)", () -> rt.driver.memsetAsync(out.address(),
                        (byte) 0, c.numel() * c.dtype().byteSize(), rt.context.stream()));
            }
            return;
        }
        if (batches > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gemm: " + batches + " batches is more than cuBLAS takes");
        }
        if (b.dtype() == DType.NF4) {
            byNf4Blocks(a, transposeA, b, transposeB, out, alpha, accumulate, m, n, k, (int) batches);
            return;
        }
        try (Scratch s = rt.scratch()) {
            boolean sameType = a.dtype() == b.dtype() && gemmType(a.dtype()) >= 0;
            DType type = sameType ? a.dtype() : DType.F32;
            long ap = operand(s, a, type);
            long bp = operand(s, b, type);
            int cublasType = gemmType(type);
            rt.gemms.count(cublasType, m, n, k, batches);
            // Row-major b (K, N) is column-major (N, K) with leading dimension N; transposed, (K, N) with K.
            int ldb = transposeB ? k : n;
            int lda = transposeA ? m : k;
            long strideA = a.rank() == 2 ? 0 : (long) m * k;
            long strideB = b.rank() == 2 ? 0 : (long) k * n;
            rt.context.enter();
            queueProduct(type, out, "", m, n, k, batches, () -> rt.cublas.gemmStridedBatched(rt.cublasHandle,
                    transposeB ? Cublas.OP_T : Cublas.OP_N, transposeA ? Cublas.OP_T : Cublas.OP_N, n, m, k, alpha,
                    bp, cublasType, ldb, strideB, ap, cublasType, lda, strideA, accumulate ? 1f : 0f, out.address(),
                    out.cublasType(), n, (long) m * n, (int) batches));
        }
    }

    /** Where a product goes: its device address and dtype (float32, or bf16 beside bf16 operands). */
    private record Output(long address, DType dtype) {
        int cublasType() {
            return gemmType(dtype);
        }
    }

    private Output output(Tensor a, Tensor b, Tensor c) {
        if (c.dtype() != DType.BF16) {
            return new Output(rt.output(c), DType.F32);
        }
        if (a.dtype() != DType.BF16 || b.dtype() != DType.BF16 && b.dtype() != DType.NF4 || !c.isContiguous()) {
            throw new IllegalArgumentException("gemm writes bf16 output tensors only from bf16 operands (or an NF4 "
                    + "weight) and only contiguous ones, got " + a + " x " + b + " into " + c);
        }
        return new Output(rt.address(c), DType.BF16);
    }

    /**
     * {@code c (+)= alpha op(a) op(w)} for a shared NF4 matrix {@code w}. With {@code transposeB} (x W^T) a block of
     * W's rows gives a block of c's columns (c's leading dimension stays n); without it (dy W) a block of W's rows
     * meets the matching columns of op(a), and the blocks' products add up in c.
     */
    private void byNf4Blocks(Tensor a, boolean transposeA, Tensor w, boolean transposeB, Output c, float alpha,
                             boolean accumulate, int m, int n, int k, int batches) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("gemm: an NF4 operand is a shared weight matrix, got " + w);
        }
        int rowsTotal = w.dim(0);
        int cols = w.dim(1);
        int rowsPerBlock = (int) Math.max(1, Math.min(rowsTotal, NF4_BLOCK_FLOATS / Math.max(1, cols)));
        int lda = transposeA ? m : k;
        long strideA = a.rank() == 2 ? 0 : (long) m * k;
        int opA = transposeA ? Cublas.OP_T : Cublas.OP_N;
        // beside a bf16 operand the weight multiplies as bf16 values, on the tensor cores (MatmulKernels)
        DType type = a.dtype() == DType.BF16 ? DType.BF16 : DType.F32;
        int cublasType = gemmType(type);
        rt.gemms.count(cublasType, m, n, k, batches);
        try (Scratch s = rt.scratch()) {
            long ap = operand(s, a, type);
            long block = s.buffer((long) rowsPerBlock * cols * type.byteSize());
            for (int r0 = 0; r0 < rowsTotal; r0 += rowsPerBlock) {
                int rows = Math.min(rowsPerBlock, rowsTotal - r0);
                CudaQuantization.dequantize(rt, w, (long) r0 * cols, (long) rows * cols, block, type);
                rt.context.enter();
                if (transposeB) {
                    float beta = accumulate ? 1f : 0f;
                    long cBlock = c.address() + (long) r0 * c.dtype().byteSize();
                    queueProduct(type, c, " (nf4 rows)", m, rows, k, batches, () -> rt.cublas.gemmStridedBatched(
                            rt.cublasHandle, Cublas.OP_T, opA, rows, m, k, alpha, block, cublasType, k, 0, ap,
                            cublasType, lda, strideA, beta, cBlock, c.cublasType(), n, (long) m * n, batches));
                } else {
                    long aBlock = ap + (long) r0 * (transposeA ? m : 1) * type.byteSize();
                    float beta = accumulate || r0 > 0 ? 1f : 0f;
                    queueProduct(type, c, " (nf4 rows)", m, n, rows, batches, () -> rt.cublas.gemmStridedBatched(
                            rt.cublasHandle, Cublas.OP_N, opA, n, m, rows, alpha, block, cublasType, n, 0, aBlock,
                            cublasType, lda, strideA, beta, c.address(), c.cublasType(), n, (long) m * n, batches));
                }
            }
        }
    }

    /**
     * Queues one cuBLAS product, named in profiles by its operands' precision, its row-major shape, (m x k) by
     * (k x n) {@code batches} times, and a bf16 output.
     */
    private void queueProduct(DType type, Output out, String note, int m, int n, int k, long batches, Runnable call) {
        rt.context.queue(() -> "gemm " + type.name().toLowerCase(Locale.ROOT) + note + " " + m + "x" + k
                + " by " + k + "x" + n + (batches > 1 ? " (" + batches + " batches)" : "")
                + (out.dtype() == DType.BF16 ? " to bf16" : ""), call);
    }

    /** {@code t}'s address in {@code type}, contiguous: itself when it already is, else a converted copy. */
    private long operand(Scratch s, Tensor t, DType type) {
        if (t.dtype() == type && t.isContiguous()) {
            return rt.address(t);
        }
        long copy = s.buffer(t.numel() * type.byteSize());
        CudaCopy.copyView(rt, t, copy, type);
        return copy;
    }

    /** The cudaDataType of a GEMM input, or -1 for a dtype cuBLAS does not multiply here. */
    private static int gemmType(DType t) {
        return switch (t) {
            case F32 -> Cublas.R_32F;
            case BF16 -> Cublas.R_16BF;
            case F16 -> Cublas.R_16F;
            default -> -1;
        };
    }
}
