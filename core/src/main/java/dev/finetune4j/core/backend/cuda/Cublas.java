package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static dev.finetune4j.core.backend.cuda.NativeFunctions.INT;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.LONG;
import static dev.finetune4j.core.backend.cuda.NativeFunctions.PTR;

/**
 * The cuBLAS calls finetune4j uses ({@code libcublas}): a handle bound to one stream and strided-batched GEMMs
 * with float32 accumulation. Failed statuses become {@link CudaException}s naming the call and cuBLAS's status.
 */
final class Cublas {
    static final int OP_N = 0;
    static final int OP_T = 1;
    /** cudaDataType values. */
    static final int R_32F = 0;
    static final int R_16F = 2;
    static final int R_16BF = 14;
    /** CUBLAS_COMPUTE_32F: float32 accumulation, no TF32 (results comparable with the CPU's). */
    static final int COMPUTE_32F = 68;
    static final int GEMM_DEFAULT = -1;

    private final MethodHandle create, destroy, setStream, gemmStridedBatched, statusName, statusString;

    Cublas(SymbolLookup libcublas) {
        this(new NativeFunctions(libcublas, "libcublas"));
    }

    /** The binding through {@code f}'s handles (a test's stand-ins where there is no GPU). */
    Cublas(NativeFunctions f) {
        create = f.status("cublasCreate_v2", PTR);
        destroy = f.status("cublasDestroy_v2", PTR);
        setStream = f.status("cublasSetStream_v2", PTR, PTR);
        gemmStridedBatched = f.status("cublasGemmStridedBatchedEx", PTR, INT, INT, INT, INT, INT,
                PTR, PTR, INT, INT, LONG, PTR, INT, INT, LONG, PTR, PTR, INT, INT, LONG, INT, INT, INT);
        statusName = f.handle("cublasGetStatusName", FunctionDescriptor.of(PTR, INT));
        statusString = f.handle("cublasGetStatusString", FunctionDescriptor.of(PTR, INT));
    }

    /** A new handle whose work goes to {@code stream}. */
    MemorySegment createHandle(MemorySegment stream) {
        MemorySegment handle;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            check("cublasCreate", CudaDriver.call(create, out));
            handle = out.get(PTR, 0);
        }
        check("cublasSetStream", CudaDriver.call(setStream, handle, stream));
        return handle;
    }

    void destroyHandle(MemorySegment handle) {
        check("cublasDestroy", CudaDriver.call(destroy, handle));
    }

    /**
     * Column-major {@code C = alpha op(A) op(B) + beta C} per batch, float32 accumulation (a bf16 C is rounded once,
     * from float32); strides in elements.
     */
    void gemmStridedBatched(MemorySegment handle, int opA, int opB, int m, int n, int k, float alpha,
                            long a, int aType, int lda, long strideA, long b, int bType, int ldb, long strideB,
                            float beta, long c, int cType, int ldc, long strideC, int batches) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alphaHost = arena.allocateFrom(NativeFunctions.FLOAT, alpha);
            MemorySegment betaHost = arena.allocateFrom(NativeFunctions.FLOAT, beta);
            int status = CudaDriver.call(gemmStridedBatched, handle, opA, opB, m, n, k, alphaHost,
                    MemorySegment.ofAddress(a), aType, lda, strideA, MemorySegment.ofAddress(b), bType, ldb, strideB,
                    betaHost, MemorySegment.ofAddress(c), cType, ldc, strideC, batches, COMPUTE_32F, GEMM_DEFAULT);
            if (status != 0) {
                check("cublasGemmStridedBatchedEx(m=" + m + ", n=" + n + ", k=" + k + ", batches=" + batches + ")",
                        status);
            }
        }
    }

    private void check(String what, int status) {
        if (status != 0) {
            throw new CudaException(CudaException.describe(what, status, text(statusName, status),
                    text(statusString, status)), status);
        }
    }

    private static String text(MethodHandle lookup, int status) {
        try {
            MemorySegment s = (MemorySegment) lookup.invokeWithArguments(status);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }
}
