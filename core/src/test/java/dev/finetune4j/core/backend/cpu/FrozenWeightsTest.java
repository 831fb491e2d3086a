package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.Matmul;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The cache of frozen weights' packed layouts: reused while the values stay, rebuilt when they change. */
class FrozenWeightsTest {

    @Test
    void aFrozenNativeWeightIsCachedUntilItsValuesChange() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            float[] wv = GradCheck.randn(1, 6 * 5);
            Tensor w = Tensor.of(params, wv, 6, 5);
            Tensor x = Tensor.of(GradCheck.randn(2, 4 * 5), 4, 5);
            FrozenWeights.Entry first = FrozenWeights.of(w);
            assertNotNull(first);
            assertSame(first, FrozenWeights.of(w), "unchanged values reuse the entry");
            assertArrayEquals(reference(x, wv), Matmul.linear(x, w, null).toFloatArray(), 1e-5f);

            w.setFlat(7, 3f); // what merging an adapter into the base does
            wv[7] = 3f;
            assertNotSame(first, FrozenWeights.of(w), "changed values rebuild the entry");
            assertArrayEquals(reference(x, wv), Matmul.linear(x, w, null).toFloatArray(), 1e-5f);
        }
    }

    @Test
    void trainedAndHeapWeightsAreNotCached() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            assertNull(FrozenWeights.of(Tensor.of(params, new float[6], 2, 3).requiresGrad(true)));
            assertNull(FrozenWeights.of(Tensor.zeros(2, 3)), "op results are not weights");
        }
    }

    @Test
    void theInputGradientThroughACachedWeightEqualsTheUncachedOne() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            float[] wv = GradCheck.randn(3, 40 * 30);
            Tensor cached = Tensor.of(params, wv, 40, 30);
            Tensor heap = Tensor.zeros(40, 30);
            heap.copyFrom(wv);
            float[] xv = GradCheck.randn(4, 50 * 30);
            float[] dy = GradCheck.randn(5, 50 * 40);
            assertArrayEquals(inputGrad(xv, heap, dy), inputGrad(xv, cached, dy), "same kernel, same bits");
        }
    }

    /** A JVM service runs forward passes of one model from many threads; the cache must not mix them up. */
    @Test
    void concurrentForwardPassesShareTheEntry() throws Exception {
        try (var params = TensorScope.detached()) {
            float[] wv = GradCheck.randn(6, 64 * 48);
            Tensor w = Tensor.of(params, wv, 64, 48);
            float[] xv = GradCheck.randn(7, 40 * 48);
            float[] expected;
            try (var step = TensorScope.open()) {
                expected = reference(Tensor.of(xv, 40, 48), wv);
            }
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
                var results = new java.util.ArrayList<java.util.concurrent.Future<float[]>>();
                for (int i = 0; i < 32; i++) {
                    results.add(pool.submit(() -> {
                        try (var step = TensorScope.open()) {
                            return Matmul.linear(Tensor.of(xv, 40, 48), w, null).toFloatArray();
                        }
                    }));
                }
                for (var r : results) {
                    assertArrayEquals(expected, r.get(), 1e-5f);
                }
            }
        }
    }

    private static float[] inputGrad(float[] xv, Tensor w, float[] dy) {
        Tensor x = Tensor.of(xv.clone(), 50, 30).requiresGrad(true);
        Autograd.backward(Matmul.linear(x, w, null), Tensor.of(dy, 50, 40));
        return x.grad().toFloatArray();
    }

    private static float[] reference(Tensor x, float[] w) {
        float[] xv = x.toFloatArray();
        int rows = x.dim(0);
        int in = x.dim(1);
        int out = w.length / in;
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) {
                    s += xv[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = (float) s;
            }
        }
        return y;
    }
}
