package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Keys and values of earlier positions per layer, each (B, Hkv, S, D) after rotary embedding.
 *
 * <p>A generation cache ({@code growing}) keeps, per layer, one buffer (B, Hkv, capacity, D) allocated in the
 * scope that is current at its first use: each step copies only the new positions into it and hands attention
 * a view of the filled part, so a token costs no copy of the whole cache; when the buffer is full it doubles
 * (amortized constant work per position). A prefix cache (prefix tuning's virtual tokens) holds fixed tensors
 * shared by every forward pass and leaves them as they are.
 *
 * <p>Not thread-safe: one cache belongs to one generation.
 */
public final class KvCache {
    private static final int FIRST_CAPACITY = 64;

    private final Tensor[] keys;
    private final Tensor[] values;
    private final int[] lengths;
    private final boolean growing;
    private final int firstCapacity;

    /**
     * An empty cache.
     *
     * @param layers  number of decoder layers
     * @param growing whether {@link #extend} keeps the new keys/values (generation) or leaves the cache as it
     *                was (a fixed prefix shared by every forward pass)
     */
    public KvCache(int layers, boolean growing) {
        this(layers, growing, FIRST_CAPACITY);
    }

    private KvCache(int layers, boolean growing, int firstCapacity) {
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.lengths = new int[layers];
        this.growing = growing;
        this.firstCapacity = Math.max(1, firstCapacity);
    }

    /**
     * A generation cache whose buffers start with room for {@code expectedLength} positions.
     *
     * @param layers number of decoder layers
     * @param expectedLength the positions to reserve room for (prompt plus new tokens)
     * @return a growing cache
     */
    public static KvCache forGeneration(int layers, int expectedLength) {
        return new KvCache(layers, true, expectedLength);
    }

    /**
     * Sets the cached keys and values of one layer, (B, Hkv, S, D) each (a generation cache copies them in).
     *
     * @param layer the layer's index
     * @param k the keys
     * @param v the values
     */
    public void put(int layer, Tensor k, Tensor v) {
        if (growing) {
            lengths[layer] = 0;
            append(layer, k, v);
        } else {
            keys[layer] = k;
            values[layer] = v;
            lengths[layer] = k.dim(2);
        }
    }

    /**
     * Number of cached positions (0 when empty).
     *
     * @return the number of positions S
     */
    public int length() {
        return lengths[0];
    }

    /**
     * The positions a generation cache's buffers hold before they must grow (0 before first use).
     *
     * @return the capacity in positions
     */
    public int capacity() {
        return keys[0] == null ? 0 : keys[0].dim(2);
    }

    /**
     * The cached keys/values followed by the new ones: {k, v}, each (B, Hkv, S + T, D).
     *
     * @param layer the layer's index
     * @param k the new keys, (B, Hkv, T, D)
     * @param v the new values, (B, Hkv, T, D)
     * @return the keys and values to attend over
     */
    public Tensor[] extend(int layer, Tensor k, Tensor v) {
        if (!growing) {
            return keys[layer] == null ? new Tensor[]{k, v}
                    : new Tensor[]{Concat.cat(2, keys[layer], k), Concat.cat(2, values[layer], v)};
        }
        append(layer, k, v);
        int s = lengths[layer];
        return new Tensor[]{keys[layer].slice(2, 0, s), values[layer].slice(2, 0, s)};
    }

    private void append(int layer, Tensor k, Tensor v) {
        int at = lengths[layer];
        int t = k.dim(2);
        keys[layer] = ensureRoom(keys[layer], k, at, at + t);
        values[layer] = ensureRoom(values[layer], v, at, at + t);
        k.backend().copy().copy(k.detach(), keys[layer].slice(2, at, at + t));
        v.backend().copy().copy(v.detach(), values[layer].slice(2, at, at + t));
        lengths[layer] = at + t;
    }

    /** The buffer itself when it has room for {@code needed} positions, else a buffer twice as large holding its first {@code filled}. */
    private Tensor ensureRoom(Tensor buffer, Tensor like, int filled, int needed) {
        if (buffer != null && buffer.dim(2) >= needed) {
            return buffer;
        }
        int capacity = Math.max(needed, buffer == null ? firstCapacity : 2 * buffer.dim(2));
        Shape shape = like.shape().with(2, capacity);
        Tensor grown = Tensor.zeros(TensorScope.current(), like.device(), like.dtype(), shape);
        if (buffer != null && filled > 0) {
            like.backend().copy().copy(buffer.slice(2, 0, filled), grown.slice(2, 0, filled));
        }
        return grown;
    }
}
