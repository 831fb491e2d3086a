package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.MatmulKernels;
import dev.finetune4j.core.tensor.Tensor;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Batched products over the CPU gemm. A frozen weight as the right operand ({@code x W^T}, {@code dy W}) is
 * read from its packed layouts ({@link FrozenWeights}) instead of being re-packed at every call.
 */
final class CpuMatmul implements MatmulKernels {
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
        float[] av = CpuTensors.read(a);
        float[] cv = accumulate ? CpuTensors.accumulator(c) : CpuTensors.output(c);
        // alpha != 1 with accumulation: the product goes to scratch first, then c += alpha * product
        boolean scratch = accumulate && alpha != 1f;
        float[] target = scratch ? new float[cv.length] : cv;
        boolean add = accumulate && !scratch;
        FrozenWeights.Entry frozen = bStride == 0 ? FrozenWeights.of(b) : null;
        if (frozen != null) {
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
