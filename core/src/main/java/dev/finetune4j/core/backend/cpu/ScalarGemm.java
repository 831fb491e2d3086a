package dev.finetune4j.core.backend.cpu;


import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The oracle: the textbook triple loop, parallel over rows, reading each operand through its index formula so
 * that no packing or blocking logic is shared with the fast kernel it checks.
 */
final class ScalarGemm implements GemmKernel {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, float[] b, int bOff, boolean transposeB,
                     float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        multiply(a, aOff, transposeA, i -> b[bOff + i], transposeB, c, cOff, m, n, k, accumulate);
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, StoredMatrix b, boolean transposeB,
                     float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        multiply(a, aOff, transposeA, b::get, transposeB, c, cOff, m, n, k, accumulate);
    }

    /** Element {@code i} of b's row-major storage, as float32. */
    @FunctionalInterface
    private interface Element {
        float at(int i);
    }

    private static void multiply(float[] a, int aOff, boolean transposeA, Element b, boolean transposeB,
                                 float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        // Element strides of op(a) along (i, p) and of op(b) along (p, j).
        int aRow = transposeA ? 1 : k;
        int aCol = transposeA ? m : 1;
        int bRow = transposeB ? 1 : n;
        int bCol = transposeB ? k : 1;
        IntStream.range(0, m).parallel().forEach(i -> {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < k; p++) {
                    s += a[aOff + i * aRow + p * aCol] * b.at(p * bRow + j * bCol);
                }
                int ci = cOff + i * n + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        });
    }

    @Override
    public PackedMatrix pack(float[] b, int bOff, boolean transposeB, int k, int n) {
        return new Copy(k, n, Arrays.copyOfRange(b, bOff, bOff + k * n), transposeB);
    }

    @Override
    public void gemm(float[] a, int aOff, boolean transposeA, PackedMatrix b, float[] c, int cOff, int m,
                     boolean accumulate) {
        if (!(b instanceof Copy copy)) {
            throw new IllegalArgumentException("a " + b.getClass().getSimpleName() + " was packed by another kernel than " + name());
        }
        gemm(a, aOff, transposeA, copy.values(), 0, copy.transposed(), c, cOff, m, copy.n(), copy.k(), accumulate);
    }

    /** The oracle's "packing": a copy of op(b)'s storage and whether it is transposed. */
    private record Copy(int k, int n, float[] values, boolean transposed) implements PackedMatrix {
        @Override
        public long floats() {
            return values.length;
        }
    }
}
