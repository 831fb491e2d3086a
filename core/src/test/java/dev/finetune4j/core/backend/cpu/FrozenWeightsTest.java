package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.GradCheck;
import dev.finetune4j.core.autograd.Matmul;
import dev.finetune4j.core.backend.Backend;
import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.backend.ElementwiseKernels;
import dev.finetune4j.core.backend.SgdStep;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
            Tensor w = Tensor.of(params, wv, 6, 5).named("weight");
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

    /** A write of new values into the cached weight {@code w}; returns the values w holds afterwards. */
    @FunctionalInterface
    private interface Write {
        float[] apply(Tensor w, float[] before);
    }

    /**
     * Every way a weight's values change after a product cached them: the next product must see the new values.
     * Each write changes every value (or, for single elements, one by far more than the tolerance), so a stale copy
     * fails the comparison.
     */
    @Test
    void everyWritePathMakesTheNextProductReadTheNewValues() {
        Backend be = Device.cpu().backend();
        Map<String, Write> writes = new LinkedHashMap<>();
        writes.put("setFlat", (w, before) -> {
            w.setFlat(7, 3f);
            return with(before, 7, 3f);
        });
        writes.put("copyFrom", (w, before) -> {
            float[] fresh = GradCheck.randn(20, before.length);
            w.copyFrom(fresh);
            return fresh;
        });
        writes.put("copy kernel (loading a checkpoint)", (w, before) -> {
            float[] fresh = GradCheck.randn(21, before.length);
            be.copy().copy(Tensor.of(fresh, w.dim(0), w.dim(1)), w);
            return fresh;
        });
        writes.put("fill", (w, before) -> {
            be.copy().fill(w, 0.5f);
            float[] fresh = new float[before.length];
            Arrays.fill(fresh, 0.5f);
            return fresh;
        });
        writes.put("in-place add", (w, before) -> {
            float[] delta = GradCheck.randn(22, before.length);
            be.elementwise().binary(ElementwiseKernels.BinaryOp.ADD, w, Tensor.of(delta, w.dim(0), w.dim(1)), w);
            float[] fresh = before.clone();
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] += delta[i];
            }
            return fresh;
        });
        writes.put("optimizer step while trained again", (w, before) -> {
            float[] g = GradCheck.randn(23, before.length);
            w.requiresGrad(true);
            be.optimizer().sgd(w, Tensor.of(g, w.dim(0), w.dim(1)), null, new SgdStep(-0.5f, 0f, 0f, 1f, false, true));
            w.requiresGrad(false);
            float[] fresh = before.clone();
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] += -0.5f * g[i];
            }
            return fresh;
        });
        writes.put("another view of the same storage", (w, before) -> {
            float[] row = GradCheck.randn(24, w.dim(1));
            w.slice(0, 2, 3).copyFrom(row);
            float[] fresh = before.clone();
            System.arraycopy(row, 0, fresh, 2 * w.dim(1), row.length);
            return fresh;
        });
        writes.put("hostSegment", (w, before) -> {
            w.hostSegment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, w.offset() + 11, -4f);
            return with(before, 11, -4f);
        });
        for (var write : writes.entrySet()) {
            try (var params = TensorScope.detached(); var step = TensorScope.open()) {
                float[] wv = GradCheck.randn(1, 6 * 5);
                Tensor w = Tensor.of(params, wv, 6, 5).named("weight");
                Tensor x = Tensor.of(GradCheck.randn(2, 4 * 5), 4, 5);
                assertArrayEquals(reference(x, wv), Matmul.linear(x, w, null).toFloatArray(), 1e-5f, write.getKey());
                assertNotNull(FrozenWeights.of(w), "cached before the write");
                float[] after = write.getValue().apply(w, wv);
                assertArrayEquals(after, w.toFloatArray(), write.getKey() + " wrote the weight");
                assertArrayEquals(reference(x, after), Matmul.linear(x, w, null).toFloatArray(), 1e-5f, write.getKey());
            }
        }
    }

    @Test
    void anNf4WeightQuantizedAgainIsReadAgain() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            Tensor w = Tensor.of(params, GradCheck.randn(1, 8 * 64), 8, 64).convertTo(DType.NF4, params).named("weight");
            Tensor x = Tensor.of(GradCheck.randn(2, 3 * 64), 3, 64);
            float[] before = Matmul.linear(x, w, null).toFloatArray();
            float[] fresh = GradCheck.randn(3, 8 * 64);
            Device.cpu().backend().quantization().quantizeNf4(Tensor.of(fresh, 8, 64), w);
            float[] dequantized = w.convertTo(DType.F32, step).toFloatArray();
            assertArrayEquals(reference(x, dequantized), Matmul.linear(x, w, null).toFloatArray(), 1e-4f);
            assertFalse(Arrays.equals(before, reference(x, dequantized)), "the write changed the product");
        }
    }

    private static float[] with(float[] values, int i, float v) {
        float[] out = values.clone();
        out[i] = v;
        return out;
    }

    @Test
    void trainedAndHeapWeightsAreNotCached() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            assertNull(FrozenWeights.of(Tensor.of(params, new float[6], 2, 3).requiresGrad(true)));
            assertNull(FrozenWeights.of(Tensor.zeros(2, 3)), "op results are not weights");
            Tensor trained = Tensor.of(params, new float[6], 2, 3).named("lora_A").requiresGrad(true);
            assertNull(FrozenWeights.of(trained.detach()), "a detached view of a trained weight (a kernel operand)");
            assertNull(FrozenWeights.of(Tensor.of(params, new float[6], 2, 3)), "an unnamed native tensor is no parameter");
        }
    }

    @Test
    void theInputGradientThroughACachedWeightEqualsTheUncachedOne() {
        try (var params = TensorScope.detached(); var step = TensorScope.open()) {
            float[] wv = GradCheck.randn(3, 40 * 30);
            Tensor cached = Tensor.of(params, wv, 40, 30).named("weight");
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
            Tensor w = Tensor.of(params, wv, 64, 48).named("weight");
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
