package dev.finetune4j.core.nn;

import dev.finetune4j.core.autograd.Concat;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Keys and values of earlier positions per layer, each (B, Hkv, S, D) after rotary embedding.
 *
 * <p>A generation cache ({@code growing}) keeps, per layer, one buffer (B, Hkv, capacity, D) allocated in the
 * scope that is current at its first use: each step copies only the new positions into it and hands attention
 * a view of the filled part, so a token costs no copy of the whole cache; when the buffer is full it doubles
 * (amortized constant work per position); under {@link Precision#BF16_MIXED} it keeps bf16, as attention reads the keys
 * and values. A prefix cache (prefix tuning's virtual tokens) holds fixed tensors
 * shared by every forward pass and leaves them as they are. A preallocated cache ({@link #preallocated}) runs over
 * buffers its caller owns and never grows: a serving engine lays out and frees the memory itself. A recurrent layer
 * (Qwen3.5's linear attention, Granite 4.0 H's Mamba-2) keeps no keys and values but a state per row
 * ({@link #recurrentState}), which its passes update in place. A multi-head latent attention layer (DeepSeek-V2 and
 * V3, Mistral 4) keeps one entry per position in place of keys and values ({@link #extendLatent}): its normalised
 * latent and its rotated shared key, from which it derives both; it has keys and no values.
 *
 * <p>Not thread-safe: one cache belongs to one generation.
 */
public final class KvCache {
    private static final int FIRST_CAPACITY = 64;

    private final Tensor[] keys;
    private final Tensor[] values;
    /**
     * Per recurrent layer (linear attention, Mamba-2), its convolution's past inputs and its recurrence's state; null
     * for other layers.
     */
    private final Tensor[][] recurrent;
    private final int[] lengths;
    private final boolean growing;
    private final boolean fixed;
    private final int firstCapacity;

    /**
     * An empty cache.
     *
     * @param layers  number of decoder layers, at least 1
     * @param growing whether {@link #extend} keeps the new keys/values (generation) or leaves the cache as it
     *                was (a fixed prefix shared by every forward pass)
     * @throws IllegalArgumentException when {@code layers} is not positive
     */
    public KvCache(int layers, boolean growing) {
        this(layers, growing, FIRST_CAPACITY);
    }

    private KvCache(int layers, boolean growing, int firstCapacity) {
        if (layers < 1) {
            throw new IllegalArgumentException("a KV cache needs at least one layer, got " + layers
                    + "; pass the model's num_hidden_layers");
        }
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.recurrent = new Tensor[layers][];
        this.lengths = new int[layers];
        this.growing = growing;
        this.fixed = false;
        this.firstCapacity = Math.max(1, firstCapacity);
    }

    private KvCache(Tensor[] keys, Tensor[] values, Tensor[][] recurrent, int length) {
        this.keys = keys.clone();
        this.values = values.clone();
        this.recurrent = recurrent.clone();
        this.lengths = new int[keys.length];
        Arrays.fill(lengths, length);
        this.growing = true;
        this.fixed = true;
        this.firstCapacity = 1;
    }

    /**
     * A generation cache whose buffers start with room for {@code expectedLength} positions.
     *
     * @param layers         number of decoder layers, at least 1
     * @param expectedLength positions to allocate room for at the first use (the buffers double when full)
     * @return an empty growing cache
     */
    public static KvCache forGeneration(int layers, int expectedLength) {
        return new KvCache(layers, true, expectedLength);
    }

    /**
     * A generation cache over buffers the caller allocated and frees: per layer, keys and values of shape
     * (B, Hkv, capacity, D) whose first {@code length} positions are filled. It never grows; a forward pass that
     * would go past the capacity is refused.
     *
     * @param keys   one key buffer per layer, each layer's Hkv and D its own, B and capacity the same in all
     * @param values one value buffer per layer, shaped like the keys
     * @param length the positions already filled, at most the capacity
     * @return a cache that appends into the buffers
     * @throws IllegalArgumentException when the buffers' counts, rows or capacities differ, or {@code length} exceeds
     *                                  them
     */
    public static KvCache preallocated(Tensor[] keys, Tensor[] values, int length) {
        return preallocated(keys, values, new Tensor[keys.length][], length);
    }

    /**
     * {@link #preallocated(Tensor[], Tensor[], int)} for a model with recurrent layers: such a layer has no keys
     * and values (null) but a recurrent state ({@link #recurrentState}: its convolution's past inputs and its delta
     * rule's state, B rows each), which its passes update in place; the attention layers have no state (null), a
     * hybrid layer (Falcon-H1's attention beside a Mamba-2 mixer) has both, and a layer that mixes no tokens
     * (Nemotron-H's MLP layers) neither. A latent attention layer has keys (its latents, {@link #extendLatent}) and
     * no values.
     *
     * @param keys      one key buffer per layer, null for a recurrent layer
     * @param values    one value buffer per layer, shaped like the keys, null where they are and for a latent
     *                  attention layer
     * @param recurrent per layer its recurrent state, null for an attention layer
     * @param length    the positions already filled, at most the capacity
     * @return a cache that appends into the buffers and updates the states
     * @throws IllegalArgumentException when the buffers' counts or shapes differ, a layer has values without keys,
     *                                  or {@code length} exceeds the capacity
     */
    public static KvCache preallocated(Tensor[] keys, Tensor[] values, Tensor[][] recurrent, int length) {
        if (keys.length == 0 || keys.length != values.length || keys.length != recurrent.length) {
            throw new IllegalArgumentException(keys.length + " key, " + values.length + " value and " + recurrent.length
                    + " recurrent buffers; give one of each per layer");
        }
        Tensor like = null;
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == null && values[i] != null) {
                throw new IllegalArgumentException("layer " + i + " has values without keys: an attention layer needs "
                        + "both, a latent attention layer keys alone");
            }
            if (keys[i] == null) {
                continue;
            }
            like = like == null ? keys[i] : like;
            // heads and their size may differ by layer (Gemma 4's full layers); rows and capacity may not
            if (keys[i].rank() != 4 || values[i] != null && !keys[i].shape().equals(values[i].shape())
                    || keys[i].dim(0) != like.dim(0) || keys[i].dim(2) != like.dim(2)) {
                throw new IllegalArgumentException("layer " + i + ": keys " + keys[i].shape() + " and values "
                        + (values[i] == null ? "none" : values[i].shape()) + " must both be (B, Hkv, capacity, D) "
                        + "(keys alone for a latent attention layer) with the first attention layer's B and capacity "
                        + like.shape());
            }
        }
        int capacity = like == null ? Integer.MAX_VALUE : like.dim(2);
        if (length < 0 || length > capacity) {
            throw new IllegalArgumentException("length " + length + " outside the buffers' capacity [0, " + capacity + "]");
        }
        return new KvCache(keys, values, recurrent, length);
    }

    /**
     * The cached keys of one layer, (B, Hkv, length, D): for a generation cache a view of its buffer, so writing
     * into it changes the cache.
     *
     * @param layer the decoder layer
     * @return the filled keys, or null before the first use
     */
    public Tensor keys(int layer) {
        return filled(keys[checkLayer(layer)], layer);
    }

    /**
     * The cached values of one layer, (B, Hkv, length, D), as {@link #keys(int)}.
     *
     * @param layer the decoder layer
     * @return the filled values, or null before the first use and for a latent attention layer
     */
    public Tensor values(int layer) {
        return filled(values[checkLayer(layer)], layer);
    }

    private Tensor filled(Tensor buffer, int layer) {
        return buffer == null || !growing ? buffer : buffer.slice(2, 0, lengths[layer]);
    }

    /**
     * The tensors that hold this cache's memory (each layer's key and value buffer, once made), for a caller that
     * frees a step's other tensors with {@link TensorScope#releaseSince}.
     *
     * @return the buffers, in layer order, keys before values
     */
    public Tensor[] buffers() {
        Stream<Tensor> states = Arrays.stream(recurrent).filter(Objects::nonNull).flatMap(Arrays::stream);
        return Stream.of(Arrays.stream(keys), Arrays.stream(values), states).flatMap(s -> s)
                .filter(Objects::nonNull).toArray(Tensor[]::new);
    }

    /**
     * The state a recurrent layer (linear attention, Mamba-2) carries from one forward pass of a generation to the
     * next, in place of keys and values: its convolution's last inputs and its recurrence's state, both updated in
     * place by the layer.
     *
     * @param layer the decoder layer
     * @return {convolution's past inputs (B, K - 1, C), state (B, H, Dk, Dv)}, or null before the layer's first pass
     */
    public Tensor[] recurrentState(int layer) {
        return recurrent[checkLayer(layer)];
    }

    /**
     * Records a recurrent layer's pass over {@code tokens} new positions, and its state the first time (the
     * layer updates the same tensors in place afterwards). A prefix cache holds keys and values only; a preallocated
     * one must have been given the layer's state. In a hybrid layer the attention has counted the positions already,
     * when it appended its keys: its mixer must run after the attention.
     *
     * @param layer the decoder layer
     * @param state {convolution's past inputs, recurrence state}, as {@link #recurrentState} returns them
     * @param tokens the positions the pass added
     * @throws IllegalStateException for a prefix cache, or a preallocated one without this layer's state
     */
    public void advanceRecurrent(int layer, Tensor[] state, int tokens) {
        checkLayer(layer);
        if (!growing) {
            throw new IllegalStateException("layer " + layer + " is a recurrent layer, which keeps a state "
                    + "instead of keys and values: a prefix of keys and values (prefix tuning) has no place in it");
        }
        if (fixed && recurrent[layer] != state) {
            throw new IllegalStateException("layer " + layer + " is a recurrent layer, but this preallocated cache "
                    + "holds no recurrent state for it: lay out its buffers with preallocated(keys, values, recurrent, length)");
        }
        recurrent[layer] = state;
        if (keys[layer] == null) {
            lengths[layer] += tokens;
        }
    }

    /**
     * Sets the cached keys and values of one layer, (B, Hkv, S, D) each (a generation cache copies them in).
     *
     * @param layer the decoder layer
     * @param k     its keys
     * @param v     its values
     */
    public void put(int layer, Tensor k, Tensor v) {
        checkEntry(layer, k, v);
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
     * The layers this cache holds keys, values or a recurrent state for.
     *
     * @return the number of decoder layers
     */
    public int layers() {
        return keys.length;
    }

    /**
     * Number of cached positions.
     *
     * @return the positions of the layers that keep an entry (every layer that has run a pass has the same), 0 when
     *         empty; NOTE: not simply the first layer's, which keeps none when it is a Nemotron-H MLP layer
     */
    public int length() {
        int longest = 0;
        for (int n : lengths) {
            longest = Math.max(longest, n);
        }
        return longest;
    }

    /**
     * The positions a generation cache's buffers hold before they must grow.
     *
     * @return the buffers' capacity, 0 before first use
     */
    public int capacity() {
        return Arrays.stream(keys).filter(Objects::nonNull).findFirst().map(k -> k.dim(2)).orElse(0);
    }

    /**
     * The cached keys/values followed by the new ones; a generation cache keeps the new ones.
     *
     * @param layer the decoder layer
     * @param k     the new positions' keys (B, Hkv, T, D)
     * @param v     their values
     * @return {k, v}, each (B, Hkv, S + T, D)
     */
    public Tensor[] extend(int layer, Tensor k, Tensor v) {
        checkEntry(layer, k, v);
        if (keys[layer] != null && values[layer] == null) {
            throw new IllegalStateException("layer " + layer + " holds latents without values (extendLatent): "
                    + "keys and values cannot join them");
        }
        if (!growing) {
            return keys[layer] == null ? new Tensor[]{k, v}
                    : new Tensor[]{Concat.cat(2, keys[layer], k), Concat.cat(2, values[layer], v)};
        }
        append(layer, k, v);
        int s = lengths[layer];
        return new Tensor[]{keys[layer].slice(2, 0, s), values[layer].slice(2, 0, s)};
    }

    /**
     * The cached entries of a multi-head latent attention layer followed by the new ones, which a generation cache
     * keeps: per position one vector (the normalised latent, then the rotated key shared by every head), stored in
     * the keys' place with no values. A prefix of keys and values (prefix tuning) cannot precede such entries.
     *
     * @param layer   the decoder layer
     * @param entries the new positions' entries (B, 1, T, kv_lora_rank + qk_rope_head_dim)
     * @return the layer's entries (B, 1, S + T, kv_lora_rank + qk_rope_head_dim), for a generation cache a view of
     *         its buffer
     * @throws IllegalStateException when the layer already holds keys and values (a prefix, or another model's)
     * @throws IllegalArgumentException when {@code entries} is not (B, 1, T, D)
     */
    public Tensor extendLatent(int layer, Tensor entries) {
        checkLayer(layer);
        if (entries.rank() != 4 || entries.dim(1) != 1) {
            throw new IllegalArgumentException("layer " + layer + ": latent entries " + entries.shape()
                    + " must be (B, 1, T, D)");
        }
        if (values[layer] != null) {
            throw new IllegalStateException("layer " + layer + " holds keys and values " + values[layer].shape()
                    + ", but it is a latent attention layer, which caches one latent per position: prefix tuning's "
                    + "keys and values have no place in it; use LoRA or prompt tuning");
        }
        if (!growing) {
            return entries;
        }
        keys[layer] = written(keys[layer], entries, lengths[layer]);
        lengths[layer] += entries.dim(2);
        return keys[layer].slice(2, 0, lengths[layer]);
    }

    private int checkLayer(int layer) {
        if (layer < 0 || layer >= keys.length) {
            throw new IndexOutOfBoundsException("layer " + layer + " outside this KV cache of " + keys.length + " layers");
        }
        return layer;
    }

    /** Keys and values of one step must agree on batch, heads and positions, or the cache would pair them wrongly. */
    private void checkEntry(int layer, Tensor k, Tensor v) {
        checkLayer(layer);
        if (k.rank() != 4 || v.rank() != 4 || k.dim(0) != v.dim(0) || k.dim(1) != v.dim(1) || k.dim(2) != v.dim(2)) {
            throw new IllegalArgumentException("layer " + layer + ": keys " + k.shape() + " and values " + v.shape()
                    + " must both be (B, Hkv, T, D) with the same B, Hkv and T");
        }
    }

    private void append(int layer, Tensor k, Tensor v) {
        int at = lengths[layer];
        keys[layer] = written(keys[layer], k, at);
        values[layer] = written(values[layer], v, at);
        lengths[layer] = at + k.dim(2);
    }

    /** {@code buffer}, or a larger one holding its filled part, with {@code entries} copied in from {@code at} on. */
    private Tensor written(Tensor buffer, Tensor entries, int at) {
        int t = entries.dim(2);
        Tensor room = ensureRoom(buffer, entries, at, at + t);
        entries.backend().copy().copy(entries.detach(), room.slice(2, at, at + t));
        return room;
    }

    /**
     * The dtype a generation cache keeps {@code like}'s keys or values in: bf16 under {@link Precision#BF16_MIXED},
     * where attention reads them rounded to bf16 anyway (the same values, half the memory, and no rounding of the whole
     * cache at every step), else their own.
     */
    private static DType dtypeFor(Tensor like) {
        return Precision.current() == Precision.BF16_MIXED && like.dtype() == DType.F32 ? DType.BF16 : like.dtype();
    }

    /** The buffer itself when it has room for {@code needed} positions, else a buffer twice as large holding its first {@code filled}. */
    private Tensor ensureRoom(Tensor buffer, Tensor like, int filled, int needed) {
        if (buffer != null && !buffer.scope().isOpen()) {
            throw new IllegalStateException("this KV cache's buffers lived in a TensorScope that has closed: keep the scope "
                    + "that was current at the cache's first use open for the whole generation, or start a new KvCache");
        }
        if (buffer != null && buffer.dim(2) >= needed) {
            return buffer;
        }
        if (fixed) {
            throw new IllegalStateException("the preallocated KV cache holds " + buffer.dim(2) + " positions; this step needs "
                    + needed + ": lay out larger buffers before feeding more tokens");
        }
        int capacity = Math.max(needed, buffer == null ? firstCapacity : 2 * buffer.dim(2));
        Shape shape = like.shape().with(2, capacity);
        Tensor grown = Tensor.zeros(TensorScope.current(), like.device(), buffer != null ? buffer.dtype() : dtypeFor(like),
                shape);
        if (buffer != null && filled > 0) {
            like.backend().copy().copy(buffer.slice(2, 0, filled), grown.slice(2, 0, filled));
        }
        return grown;
    }
}
