package dev.finetune4j.core.nn;

import dev.finetune4j.core.tensor.Shape;
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
            IllegalArgumentException unpaired = assertThrows(IllegalArgumentException.class,
                    () -> KvCache.preallocated(new Tensor[]{null}, new Tensor[]{k}, new Tensor[1][], 0));
            assertTrue(unpaired.getMessage().contains("layer 0 has values without keys"), unpaired.getMessage());
            Tensor longer = Tensor.zeros(1, 2, 4, 4);
            assertThrows(IllegalArgumentException.class,
                    () -> KvCache.preallocated(new Tensor[]{k, longer}, new Tensor[]{k, longer}, 0));
        }
    }

    /**
     * A latent attention layer keeps its latents in the keys' buffer, with no values: its entries append in place
     * beside an attention layer's keys and values, and keys and values cannot join them.
     */
    @Test
    void latentLayersKeepKeysAlone() {
        try (var scope = TensorScope.open()) {
            Tensor latents = Tensor.zeros(1, 1, 3, 5);
            Tensor heads = Tensor.zeros(1, 2, 3, 2);
            KvCache cache = KvCache.preallocated(new Tensor[]{latents, heads}, new Tensor[]{null, heads}, 1);
            Tensor entry = Tensor.of(new float[]{1, 2, 3, 4, 5}, 1, 1, 1, 5);
            Tensor filled = cache.extendLatent(0, entry);
            assertEquals(Shape.of(1, 1, 2, 5), filled.shape());
            assertArrayEquals(new float[]{1, 2, 3, 4, 5}, latents.slice(2, 1, 2).contiguous().toFloatArray());
            assertThrows(IllegalStateException.class,
                    () -> cache.extend(0, Tensor.zeros(1, 1, 1, 5), Tensor.zeros(1, 1, 1, 5)));
            assertThrows(IllegalStateException.class, () -> cache.extendLatent(1, Tensor.zeros(1, 1, 1, 2)));
        }
    }

    /** Gemma 4's full layers keep heads of their own count and size: each layer's buffers are its own shape. */
    @Test
    void layersMayKeepHeadsOfTheirOwnShape() {
        try (var scope = TensorScope.open()) {
            Tensor sliding = Tensor.zeros(1, 2, 3, 2);
            Tensor full = Tensor.zeros(1, 1, 3, 4);
            KvCache cache = KvCache.preallocated(new Tensor[]{sliding, full}, new Tensor[]{sliding, full}, 1);
            Tensor[] kv = cache.extend(1, Tensor.zeros(1, 1, 1, 4), Tensor.zeros(1, 1, 1, 4));
            assertEquals(Shape.of(1, 1, 2, 4), kv[0].shape());
        }
    }

    /**
     * A layer that mixes no tokens (Nemotron-H's MLP layers) keeps neither keys nor a state; the cache's length is its
     * attention layer's, even with such a layer first.
     */
    @Test
    void aLayerThatKeepsNothingLeavesTheLengthToTheOthers() {
        try (var scope = TensorScope.open()) {
            Tensor keys = Tensor.zeros(1, 1, 3, 2);
            Tensor values = Tensor.zeros(1, 1, 3, 2);
            KvCache cache = KvCache.preallocated(new Tensor[]{null, keys}, new Tensor[]{null, values}, new Tensor[2][], 1);
            assertEquals(1, cache.length());
            cache.extend(1, Tensor.of(new float[]{3, 4}, 1, 1, 1, 2), Tensor.of(new float[]{-3, -4}, 1, 1, 1, 2));
            assertEquals(2, cache.length());
            KvCache growing = KvCache.forGeneration(2, 4);
            growing.extend(1, Tensor.of(new float[]{3, 4}, 1, 1, 1, 2), Tensor.of(new float[]{-3, -4}, 1, 1, 1, 2));
            assertEquals(1, growing.length(), "layer 0 kept nothing; layer 1 one position");
        }
    }
}
