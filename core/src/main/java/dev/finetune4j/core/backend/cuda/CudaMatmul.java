package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Strided-batched GEMMs through cuBLAS with float32 accumulation. cuBLAS is column-major, so the row-major
 * {@code c = a b} is computed as the column-major {@code c^T = b^T a^T}: the operands swap places and a row-major
 * matrix is read as its column-major transpose.
 */
final class CudaMatmul implements MatmulKernels {
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
        if (k == 0) {
            if (!accumulate) {
                rt.driver.memsetAsync(rt.address(c), (byte) 0, c.numel() * Float.BYTES, rt.context.stream());
            }
            return;
        }
        if (batches > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gemm: " + batches + " batches is more than cuBLAS takes");
        }
        try (Scratch s = rt.scratch()) {
            boolean sameType = a.dtype() == b.dtype() && gemmType(a.dtype()) >= 0;
            DType type = sameType ? a.dtype() : DType.F32;
            long ap = operand(s, a, type);
            long bp = operand(s, b, type);
            int cublasType = gemmType(type);
            // Row-major b (K, N) is column-major (N, K) with leading dimension N; transposed, (K, N) with K.
            int ldb = transposeB ? k : n;
            int lda = transposeA ? m : k;
            long strideA = a.rank() == 2 ? 0 : (long) m * k;
            long strideB = b.rank() == 2 ? 0 : (long) k * n;
            rt.context.enter();
            rt.cublas.gemmStridedBatched(rt.cublasHandle, transposeB ? Cublas.OP_T : Cublas.OP_N,
                    transposeA ? Cublas.OP_T : Cublas.OP_N, n, m, k, alpha, bp, cublasType, ldb, strideB,
                    ap, cublasType, lda, strideA, accumulate ? 1f : 0f, rt.address(c), n, (long) m * n,
                    (int) batches);
        }
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
