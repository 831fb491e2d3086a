package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.backend.DropoutKey;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The dropout kernel of the Vector API backend and of the scalar one draw the same mask from the same key. */
class DropoutConformanceTest {

    @Test
    void sameKeySameMaskOnBothBackendsAndKeepFractionNearOneMinusP() {
        try (var s = TensorScope.open()) {
            int n = 100_003;
            float[] values = new float[n];
            SplittableRandom random = new SplittableRandom(5);
            for (int i = 0; i < n; i++) {
                values[i] = (float) random.nextDouble(0.5, 1.5);
            }
            Tensor x = Tensor.of(values, n);
            DropoutKey key = new DropoutKey(123456789L, 42, 3);
            float p = 0.1f;
            Tensor fast = Tensor.zeros(Shape.of(n));
            Tensor scalar = Tensor.zeros(Shape.of(n));
            CpuBackend.instance().dropout().apply(x, p, key, fast);
            CpuBackend.scalar().dropout().apply(x, p, key, scalar);
            float[] a = fast.toFloatArray();
            assertArrayEquals(scalar.toFloatArray(), a);
            int kept = 0;
            for (float v : a) {
                kept += v != 0f ? 1 : 0;
            }
            // Binomial(n, 0.9): sd = 95, so 5 sd is about 475
            assertEquals((1 - p) * n, kept, 475, "kept fraction");
        }
    }
}
