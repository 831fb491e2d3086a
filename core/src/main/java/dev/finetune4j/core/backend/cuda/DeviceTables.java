package dev.finetune4j.core.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Small tables of 64-bit values on the device (the addresses and sizes of the tensors a multi-tensor kernel walks),
 * uploaded once and reused while their contents stay the same: a training step hands the same parameters, gradients
 * and optimizer state to the same kernels every time, so its steady state uploads nothing. The most recently used
 * few are kept; an evicted one goes back to the allocator, after the work queued before it (one stream).
 */
final class DeviceTables {
    /** Tables kept: the optimizer's, the gradient norms' and the parameter norms' of a step, with room to spare. */
    private static final int KEPT = 8;

    private final CudaRuntime rt;
    private final LinkedHashMap<Key, Long> tables = new LinkedHashMap<>(16, 0.75f, true); // guarded by this

    DeviceTables(CudaRuntime rt) {
        this.rt = rt;
    }

    /** The device address of a table holding {@code values}, uploaded now unless an equal one is kept. */
    synchronized long of(long[] values) {
        Key key = new Key(values.clone());
        Long kept = tables.get(key);
        if (kept != null) {
            return kept;
        }
        long bytes = (long) values.length * Long.BYTES;
        long address = rt.allocator.allocate(bytes);
        rt.staging.upload(MemorySegment.ofArray(values), address);
        tables.put(key, address);
        if (tables.size() > KEPT) {
            Map.Entry<Key, Long> eldest = tables.entrySet().iterator().next();
            rt.allocator.release(eldest.getValue(), (long) eldest.getKey().values().length * Long.BYTES);
            tables.remove(eldest.getKey());
        }
        return address;
    }

    private record Key(long[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(values, k.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }
    }
}
