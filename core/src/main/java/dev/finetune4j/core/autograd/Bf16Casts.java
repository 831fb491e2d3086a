package dev.finetune4j.core.autograd;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Storage;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bf16 operands of a training step's float32 master weights, rounded once for the whole step. Under
 * {@link Precision#BF16_MIXED} every product that reads a master rounds it to bf16 first: a LoRA matrix in its
 * layer's forward and again where gradient checkpointing recomputes the layer, a trainable full weight at each read
 * and in its backward; one small launch each, hundreds a step for a LoRA on every projection. While a {@code Bf16Casts} is open on a thread, those products
 * read the casts made here instead, rounded in one launch per device, with the same values.
 *
 * <pre>{@code
 * try (var step = TensorScope.open()) {
 *     try (var casts = Bf16Casts.of(Precision.BF16_MIXED, trainable.values())) {
 *         ... forward and backward ...
 *     }
 *     optimizer.step();   // after closing: the masters change
 * }
 * }</pre>
 *
 * <p>The casts live in the current scope. The masters must not change while it is open. Opened and closed on one
 * thread; nested ones see the innermost.
 */
public final class Bf16Casts implements AutoCloseable {
    private static final ThreadLocal<Bf16Casts> CURRENT = new ThreadLocal<>();

    private final Map<Key, Tensor> casts;
    private final Bf16Casts outer;
    private final Thread owner = Thread.currentThread();

    /**
     * Where a contiguous master's values are: its memory, first element and shape (a detached alias of a parameter
     * finds its cast; a transposed view, whose layout differs, is not contiguous and never looks).
     */
    private record Key(Storage storage, long offset, Shape shape) {
        static Key of(Tensor t) {
            return new Key(t.storage(), t.offset(), t.shape());
        }
    }

    private Bf16Casts(Map<Key, Tensor> casts) {
        this.casts = casts;
        this.outer = CURRENT.get();
        CURRENT.set(this);
    }

    /**
     * Rounds the contiguous float32 {@code masters} to bf16 in the current scope, one launch per device, and has
     * this thread's products read them until closed; nothing under another precision than
     * {@link Precision#BF16_MIXED}, whose products read float32.
     *
     * @param precision the precision the step's forward runs in
     * @param masters the weights the step reads (others than contiguous float32 ones are left alone)
     * @return the casts, to close once the step's forward and backward are done
     */
    public static Bf16Casts of(Precision precision, Collection<Tensor> masters) {
        Map<Key, Tensor> casts = new HashMap<>();
        if (precision == Precision.BF16_MIXED) {
            Map<Device, List<Tensor>> sources = new LinkedHashMap<>();
            Map<Device, List<Tensor>> targets = new LinkedHashMap<>();
            for (Tensor m : masters) {
                if (m.dtype() != DType.F32 || !m.isContiguous() || casts.containsKey(Key.of(m))) {
                    continue;
                }
                Tensor cast = Tensor.empty(TensorScope.current(), m.device(), DType.BF16, m.shape());
                casts.put(Key.of(m), cast);
                sources.computeIfAbsent(m.device(), d -> new ArrayList<>()).add(m.detach());
                targets.computeIfAbsent(m.device(), d -> new ArrayList<>()).add(cast);
            }
            sources.forEach((device, src) -> device.backend().copy().copy(src, targets.get(device)));
        }
        return new Bf16Casts(casts);
    }

    /** The open casts' bf16 copy of {@code t} on this thread, or null (always for a non-contiguous view). */
    static Tensor castOf(Tensor t) {
        Bf16Casts open = CURRENT.get();
        return open == null || !t.isContiguous() ? null : open.casts.get(Key.of(t));
    }

    /** @throws IllegalStateException when closed on another thread than it was opened on, or out of order */
    @Override
    public void close() {
        if (Thread.currentThread() != owner || CURRENT.get() != this) {
            throw new IllegalStateException("Bf16Casts closed on another thread or out of order: close the innermost "
                    + "one, on the thread that opened it");
        }
        if (outer == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(outer);
        }
    }
}
