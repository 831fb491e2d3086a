package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A KV cache refuses layer counts, layers and key/value pairs that cannot be, naming the values. */
class KvCacheMisuseTest {

    @Test
    void aCacheNeedsALayerAndStaysInsideItsLayers() {
        var none = assertThrows(IllegalArgumentException.class, () -> new KvCache(0, true));
        assertTrue(none.getMessage().contains("got 0"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KvCache.forGeneration(-1, 16));
        try (var s = TensorScope.open()) {
            KvCache cache = new KvCache(2, true);
            var layer = assertThrows(IndexOutOfBoundsException.class,
                    () -> cache.put(5, Tensor.zeros(1, 1, 2, 4), Tensor.zeros(1, 1, 2, 4)));
            assertTrue(layer.getMessage().contains("layer 5") && layer.getMessage().contains("2 layers"), layer.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> cache.keys(-1));
        }
    }

    @Test
    void keysAndValuesOfOneStepMustAgree() {
        try (var s = TensorScope.open()) {
            KvCache cache = new KvCache(1, true);
            var heads = assertThrows(IllegalArgumentException.class,
                    () -> cache.extend(0, Tensor.zeros(1, 1, 2, 4), Tensor.zeros(1, 2, 2, 4)));
            assertTrue(heads.getMessage().contains("[1, 1, 2, 4]") && heads.getMessage().contains("[1, 2, 2, 4]"), heads.getMessage());
            assertEquals(0, cache.length(), "nothing was cached");
            Tensor[] kv = cache.extend(0, Tensor.of(new float[]{1, 2}, 1, 1, 1, 2), Tensor.of(new float[]{3, 4}, 1, 1, 1, 2));
            assertArrayEquals(new float[]{3, 4}, kv[1].toFloatArray());
        }
    }

    @Test
    void aCacheWhoseScopeClosedSaysSo() {
        KvCache cache = new KvCache(1, true);
        try (var first = TensorScope.open()) {
            cache.extend(0, Tensor.zeros(1, 1, 2, 4), Tensor.zeros(1, 1, 2, 4));
        }
        try (var second = TensorScope.open()) {
            var e = assertThrows(IllegalStateException.class,
                    () -> cache.extend(0, Tensor.zeros(1, 1, 1, 4), Tensor.zeros(1, 1, 1, 4)));
            assertTrue(e.getMessage().contains("KV cache"), e.getMessage());
        }
    }
}
