package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.tensor.Tensor;

/**
 * Keys and values of earlier positions per layer, each (B, Hkv, S, D) after rotary embedding. Generation
 * appends to it step by step; prefix tuning pre-fills it with virtual tokens.
 */
public final class KvCache {
    private final Tensor[] keys;
    private final Tensor[] values;
    private final boolean growing;

    /**
     * @param layers  number of decoder layers
     * @param growing whether {@link #extend} keeps the new keys/values (generation) or leaves the cache as it
     *                was (a fixed prefix shared by every forward pass)
     */
    public KvCache(int layers, boolean growing) {
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.growing = growing;
    }

    /** Sets the cached keys and values of one layer, (B, Hkv, S, D) each. */
    public void put(int layer, Tensor k, Tensor v) {
        keys[layer] = k;
        values[layer] = v;
    }

    /** Number of cached positions (0 when empty). */
    public int length() {
        return keys[0] == null ? 0 : keys[0].dim(2);
    }

    /** The cached keys/values followed by the new ones: {k, v}, each (B, Hkv, S + T, D). */
    public Tensor[] extend(int layer, Tensor k, Tensor v) {
        Tensor fullK = keys[layer] == null ? k : Concat.cat(2, keys[layer], k);
        Tensor fullV = values[layer] == null ? v : Concat.cat(2, values[layer], v);
        if (growing) {
            put(layer, fullK.detach(), fullV.detach());
        }
        return new Tensor[]{fullK, fullV};
    }
}
