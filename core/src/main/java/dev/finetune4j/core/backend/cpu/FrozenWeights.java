package dev.finetune4j.core.backend.cpu;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Frozen (no-gradient) weights as the products want them: a heap copy of the values and the packed layouts
 * of {@code x W^T} (forward) and {@code dy W} (input gradient), made once and reused. Without it every call
 * copied the weight out of native memory and re-packed it, twice per training step, for weights that never
 * change during LoRA training.
 *
 * <p>A weight can still be changed through its storage (merging an adapter, loading a checkpoint), so each use
 * first compares the stored values with the copy (a vectorized {@code mismatch}, cheaper than one copy) and
 * rebuilds the entry when they differ. The cache holds at most {@value #DEFAULT_BUDGET_MIB} MiB (system property
 * {@code finetune4j.frozenWeightCacheMiB}); weights beyond it are copied and packed per call as before.
 * Entries go with their weight tensor (weak keys). Thread-safe.
 */
final class FrozenWeights {
    private static final int DEFAULT_BUDGET_MIB = 512;
    private static final long BUDGET_FLOATS = Long.getLong("finetune4j.frozenWeightCacheMiB", DEFAULT_BUDGET_MIB) << 18;
    private static final Map<Tensor, Entry> CACHE = new WeakHashMap<>(); // guarded by CACHE

    private FrozenWeights() {
    }

    /** The cached entry of {@code w}, valid for its current values, or null when {@code w} is not cached. */
    static Entry of(Tensor w) {
        if (w.requiresGrad() || w.dtype() != DType.F32 || !w.isContiguous() || w.rank() != 2
                || CpuTensors.segment(w).heapBase().isPresent()) {
            return null; // trained, converted or op-result weights change between calls
        }
        MemorySegment stored = CpuTensors.segment(w).asSlice(w.offset() * Float.BYTES, w.numel() * Float.BYTES);
        Entry cached;
        synchronized (CACHE) {
            cached = CACHE.get(w);
        }
        // compared outside the lock: concurrent forward passes only meet for the map look-ups
        if (cached != null && stored.mismatch(MemorySegment.ofArray(cached.values)) == -1) {
            return cached;
        }
        synchronized (CACHE) {
            CACHE.remove(w);
            // summed over the live entries: those of weights the GC has taken are already gone from the map
            long cachedFloats = CACHE.values().stream().mapToLong(Entry::floats).sum();
            if (cachedFloats + Entry.floats(w.numel()) > BUDGET_FLOATS) {
                return null;
            }
            Entry fresh = new Entry(stored.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), w.dim(0), w.dim(1));
            CACHE.put(w, fresh);
            return fresh;
        }
    }

    /** One weight W (out, in): its values and, made on first use, its two packed layouts. */
    static final class Entry {
        final float[] values;
        private final int out;
        private final int in;
        private PackedMatrix transposed; // guarded by this
        private PackedMatrix plain; // guarded by this

        private Entry(float[] values, int out, int in) {
            this.values = values;
            this.out = out;
            this.in = in;
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
