package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A cache over the caller's buffers: appends into them, shows them through views, never grows. */
class PreallocatedKvCacheTest {

    @Test
    void appendsIntoTheCallersBuffersAndRefusesToGrow() {
        try (var scope = TensorScope.open()) {
            // (B 1, Hkv 1, capacity 3, D 2), one position filled
            Tensor keys = Tensor.of(new float[]{1, 2, 0, 0, 0, 0}, 1, 1, 3, 2);
            Tensor values = Tensor.of(new float[]{-1, -2, 0, 0, 0, 0}, 1, 1, 3, 2);
            KvCache cache = KvCache.preallocated(new Tensor[]{keys}, new Tensor[]{values}, 1);
            assertEquals(1, cache.length());
            assertArrayEquals(new float[]{1, 2}, cache.keys(0).toFloatArray());

            Tensor[] kv = cache.extend(0, Tensor.of(new float[]{3, 4}, 1, 1, 1, 2), Tensor.of(new float[]{-3, -4}, 1, 1, 1, 2));
            assertArrayEquals(new float[]{1, 2, 3, 4}, kv[0].toFloatArray());
            assertArrayEquals(new float[]{1, 2, 3, 4, 0, 0}, keys.toFloatArray(), "written into the caller's buffer");
            assertArrayEquals(new float[]{-1, -2, -3, -4}, cache.values(0).toFloatArray());
            assertSame(keys.storage(), cache.keys(0).storage(), "a view, not a copy");

            cache.extend(0, Tensor.of(new float[]{5, 6}, 1, 1, 1, 2), Tensor.of(new float[]{-5, -6}, 1, 1, 1, 2));
            IllegalStateException full = assertThrows(IllegalStateException.class,
                    () -> cache.extend(0, Tensor.of(new float[]{7, 8}, 1, 1, 1, 2), Tensor.of(new float[]{7, 8}, 1, 1, 1, 2)));
            assertTrue(full.getMessage().contains("holds 3 positions; this step needs 4"), full.getMessage());
        }
    }

    @Test
    void refusesBuffersThatDoNotFit() {
        try (var scope = TensorScope.open()) {
            Tensor k = Tensor.zeros(1, 1, 3, 2);
            assertThrows(IllegalArgumentException.class,
                    () -> KvCache.preallocated(new Tensor[]{k}, new Tensor[]{Tensor.zeros(1, 1, 4, 2)}, 0));
            assertThrows(IllegalArgumentException.class, () -> KvCache.preallocated(new Tensor[]{k}, new Tensor[]{k, k}, 0));
            assertThrows(IllegalArgumentException.class, () -> KvCache.preallocated(new Tensor[]{k}, new Tensor[]{k}, 4));
        }
    }
}
