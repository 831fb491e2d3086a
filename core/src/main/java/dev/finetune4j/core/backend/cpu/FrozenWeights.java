package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * Frozen (no-gradient) float32 or NF4 weights as the products want them: a heap copy of the (dequantized) values and
 * the packed layouts
 * of {@code x W^T} (forward) and {@code dy W} (input gradient), made once and reused. Without it every call
 * copied the weight out of native memory and re-packed it, twice per training step, for weights that never
 * change during LoRA training.
 *
 * <p>A weight can still be changed through its storage (merging an adapter, loading a checkpoint, an optimizer step
 * once it is trained again), so an entry remembers its storage's write count ({@link HostStorage#version}) from
 * before it copied the values and is rebuilt when the count has moved: one comparison per product, where comparing
 * the values cost a fifth of a serving decode step. The cache holds at most {@value #DEFAULT_BUDGET_MIB} MiB (system
 * property {@code finetune4j.frozenWeightCacheMiB}), NF4 entries at most a quarter of the heap as well (an NF4 base is
 * chosen to save memory); weights beyond it are copied, or dequantized, and packed per call.
 * Entries go with their weight tensor (weak keys). Thread-safe.
 */
final class FrozenWeights {
    private static final int DEFAULT_BUDGET_MIB = 512;
    private static final long BUDGET_FLOATS = Long.getLong("finetune4j.frozenWeightCacheMiB", DEFAULT_BUDGET_MIB) << 18;
    private static final long NF4_BUDGET_FLOATS = Math.min(BUDGET_FLOATS, Runtime.getRuntime().maxMemory() / 4 / Float.BYTES);
    private static final Map<Tensor, Entry> CACHE = new WeakHashMap<>(); // guarded by CACHE

    private FrozenWeights() {
    }

    /** The cached entry of {@code w}, valid for its current values, or null when {@code w} is not cached. */
    static Entry of(Tensor w) {
        // NOTE: only named parameters: a view or detached copy of a trainable weight (LoRA's A and B handed to a
        // kernel) has requiresGrad false too, and caching each call's new view filled the map without end.
        boolean nf4 = w.dtype() == DType.NF4;
        if (w.name() == null || w.requiresGrad() || (w.dtype() != DType.F32 && !nf4) || !w.isContiguous()
                || w.rank() != 2 || CpuTensors.segment(w).heapBase().isPresent()) {
            return null; // trained, converted or op-result weights change between calls
        }
        HostStorage storage = (HostStorage) w.storage();
        // read before the values are: a write during the copy below leaves the entry stale, and the count moved
        long version = storage.version();
        synchronized (CACHE) {
            Entry cached = CACHE.get(w);
            if (cached != null && cached.version == version) {
                return cached;
            }
            CACHE.remove(w);
            // summed over the live entries: those of weights the GC has taken are already gone from the map
            long cachedFloats = CACHE.values().stream().mapToLong(Entry::floats).sum();
            if (cachedFloats + Entry.floats(w.numel()) > (nf4 ? NF4_BUDGET_FLOATS : BUDGET_FLOATS)) {
                return null;
            }
            Entry fresh = new Entry(nf4 ? CpuTensors.rows(w, 0, w.dim(0)) : CpuTensors.read(w), version, w);
            CACHE.put(w, fresh);
            return fresh;
        }
    }

    /** One weight W (out, in): its values and, made on first use, its two packed layouts. */
    static final class Entry {
        final float[] values;
        /** The storage's write count before the values were read. */
        private final long version;
        private final int out;
        private final int in;
        private PackedMatrix transposed; // guarded by this
        private PackedMatrix plain; // guarded by this

        private Entry(float[] values, long version, Tensor w) {
            this.values = values;
            this.version = version;
            this.out = w.dim(0);
            this.in = w.dim(1);
        }

        /** W^T (in, out), the right operand of x W^T. */
        synchronized PackedMatrix transposed(GemmKernel be) {
            if (transposed == null) {
                transposed = be.pack(values, 0, true, in, out);
            }
            return transposed;
        }

        /** W (out, in), the right operand of dy W. */
        synchronized PackedMatrix plain(GemmKernel be) {
            if (plain == null) {
                plain = be.pack(values, 0, false, out, in);
            }
            return plain;
        }

        private long floats() {
            return floats(values.length);
        }

        /** The values and, once made, two layouts of about the same size. */
        private static long floats(long weightFloats) {
            return 3 * weightFloats;
        }
    }
}
