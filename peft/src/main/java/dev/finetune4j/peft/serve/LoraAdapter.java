package dev.finetune4j.peft.serve;

import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One immutable version of a named LoRA or DoRA adapter: per adapted module path its factors A (r, in), B (out, r),
 * scaling s and DoRA's scale (per adapted stacked expert parameter, keyed by {@link MultiExpertsLora#key}, every
 * expert's factors in PEFT's layout, A (r E, in), B (out, r E)), in a scope of its own. The registry holds one
 * reference and every request that uses the version holds one; the last {@link #release()} frees the tensors, so a
 * replaced or unloaded version lives exactly as long as the requests that started with it.
 *
 * <p>Thread safety: the factors are read-only; {@link #retain()} and {@link #release()} are atomic.
 */
final class LoraAdapter {
    /**
     * The update of one module: LoRA's y += s (x A^T) B^T, or DoRA's ({@link dev.finetune4j.peft.lora.LoraLinear#doraOutput})
     * when {@code doraScale} is given. a: (r, in), b: (out, r), doraScale: (out) or null.
     */
    record Factors(Tensor a, Tensor b, float scaling, Tensor doraScale) {
    }

    private final long version;
    private final Map<String, Factors> factors;
    private final TensorScope scope;
    private final AtomicInteger references = new AtomicInteger(1);

    LoraAdapter(long version, Map<String, Factors> factors, TensorScope scope) {
        this.version = version;
        this.factors = Map.copyOf(factors);
        this.scope = scope;
    }

    /** Increases with every load of any adapter in one engine, so a replacement is told apart from its predecessor. */
    long version() {
        return version;
    }

    /** The factors for a module path (or stacked expert parameter), or null when this adapter leaves it alone. */
    Factors factors(String path) {
        return factors.get(path);
    }

    /** Adds a reference (a request that starts with this version). */
    LoraAdapter retain() {
        references.incrementAndGet();
        return this;
    }

    /** Drops a reference; the last one frees the tensors. */
    void release() {
        if (references.decrementAndGet() == 0) {
            scope.close();
        }
    }
}
