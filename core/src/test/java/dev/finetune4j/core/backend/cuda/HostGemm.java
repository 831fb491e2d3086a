package dev.finetune4j.core.backend.cuda;

import dev.finetune4j.core.tensor.DTypeConversions;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * cublasGemmStridedBatchedEx computed on the host over the emulated device's real memory: column-major
 * {@code C = alpha op(A) op(B) + beta C} per batch, with F32, F16 or BF16 operands, float32 accumulation in order
 * of k, an F32 or BF16 C (rounded to nearest-even from float32), leading dimensions and batch strides in elements,
 * and, as cuBLAS documents, C not read when beta is 0.
 */
final class HostGemm {
    /** All of the process's memory, addressed by absolute address. */
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private HostGemm() {
    }

    /** One matrix operand: address, cuBLAS data type, leading dimension and batch stride in elements. */
    private record Matrix(long address, int type, int ld, long stride) {
        static Matrix of(Object[] a, int at) {
            return new Matrix(((MemorySegment) a[at]).address(), (int) a[at + 1], (int) a[at + 2], (long) a[at + 3]);
        }

        private long at(int batch, int row, int col) {
            long element = batch * stride + (long) col * ld + row;
            return address + element * (type == Cublas.R_32F ? 4 : 2);
        }

        float get(int batch, int row, int col) {
            long p = at(batch, row, col);
            return switch (type) {
                case Cublas.R_32F -> MEMORY.get(ValueLayout.JAVA_FLOAT_UNALIGNED, p);
                case Cublas.R_16F -> Float.float16ToFloat(MEMORY.get(ValueLayout.JAVA_SHORT_UNALIGNED, p));
                case Cublas.R_16BF -> Float.intBitsToFloat(MEMORY.get(ValueLayout.JAVA_SHORT_UNALIGNED, p) << 16);
                default -> throw new AssertionError("cuBLAS data type " + type + " is not emulated");
            };
        }

        void set(int batch, int row, int col, float v) {
            long p = at(batch, row, col);
            switch (type) {
                case Cublas.R_32F -> MEMORY.set(ValueLayout.JAVA_FLOAT_UNALIGNED, p, v);
                case Cublas.R_16BF -> MEMORY.set(ValueLayout.JAVA_SHORT_UNALIGNED, p, DTypeConversions.floatToBf16(v));
                default -> throw new AssertionError("the emulated GEMM writes F32 or BF16 outputs, not cuBLAS data"
                        + " type " + type);
            }
        }
    }

    /**
     * A cublasGemmStridedBatchedEx call whose arguments (as bound by {@link Cublas}) are {@code a}, to be carried out
     * in stream order; alpha and beta are read from the host now, as cuBLAS does in host pointer mode.
     */
    static Runnable of(Object[] a) {
        if ((int) a[21] != Cublas.COMPUTE_32F) {
            throw new AssertionError("the emulated GEMM accumulates in float32 only, not compute type " + a[21]);
        }
        float alpha = ((MemorySegment) a[6]).reinterpret(4).get(ValueLayout.JAVA_FLOAT, 0);
        float beta = ((MemorySegment) a[15]).reinterpret(4).get(ValueLayout.JAVA_FLOAT, 0);
        Matrix ma = Matrix.of(a, 7), mb = Matrix.of(a, 11), mc = Matrix.of(a, 16);
        int opA = (int) a[1], opB = (int) a[2], m = (int) a[3], n = (int) a[4], k = (int) a[5], batches = (int) a[20];
        return () -> run(opA != Cublas.OP_N, opB != Cublas.OP_N, m, n, k, alpha, ma, mb, beta, mc, batches);
    }

    private static void run(boolean transA, boolean transB, int m, int n, int k, float alpha, Matrix ma, Matrix mb,
                            float beta, Matrix mc, int batches) {
        for (int batch = 0; batch < batches; batch++) {
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) {
                    float acc = 0;
                    for (int l = 0; l < k; l++) {
                        acc += (transA ? ma.get(batch, l, i) : ma.get(batch, i, l))
                                * (transB ? mb.get(batch, j, l) : mb.get(batch, l, j));
                    }
                    mc.set(batch, i, j, beta == 0 ? alpha * acc : alpha * acc + beta * mc.get(batch, i, j));
                }
            }
        }
    }
}
