package dev.finetune4j.core.backend.cpu;

import java.util.stream.IntStream;

/** Plain-Java dot-form product, parallel over rows; the oracle for the vector kernel. */
final class ScalarGemm implements GemmKernel {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void multiplyRows(float[] a, int aOff, float[] bt, int btOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        IntStream.range(0, m).parallel().forEach(i -> {
            int ar = aOff + i * k;
            for (int j = 0; j < n; j++) {
                int br = btOff + j * k;
                float s = 0f;
                for (int p = 0; p < k; p++) {
                    s += a[ar + p] * bt[br + p];
                }
                int ci = cOff + i * n + j;
                c[ci] = accumulate ? c[ci] + s : s;
            }
        });
    }
}
