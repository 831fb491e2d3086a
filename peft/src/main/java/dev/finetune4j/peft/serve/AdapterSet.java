package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.LayerTuner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The base model with the engine's adapters: the registry of named {@link LoraAdapter} versions and the
 * {@link MultiLoraLinear} and {@link MultiExpertsLora} wrappers in the base model's tree (one per linear layer or
 * stacked experts any loaded adapter ever changed), through which a forward pass gives each row its own adapter,
 * inside mixtures of experts too.
 *
 * <p>Thread safety: the registry is guarded by {@code this}; the model tree by {@link #treeLock}, held during each
 * forward pass and while an adapter is put on the base (loading takes the wrappers out so that peft's loader sees
 * the plain base, then puts them back). The adapter's files are read before, and DoRA's scales computed after,
 * without the lock, so that decoding goes on while they come from disk and while the base weights are read.
 */
final class AdapterSet {
    private final LanguageModel base;
    private final AdapterRows rows = new AdapterRows();
    private final ReentrantLock treeLock = new ReentrantLock();
    private final Map<String, LayerTuner.Swap> wrappers = new LinkedHashMap<>(); // guarded by treeLock
    private final Map<String, LoraAdapter> adapters = new TreeMap<>(); // guarded by this
    private long lastVersion; // guarded by treeLock
    private boolean closed; // guarded by treeLock

    AdapterSet(LanguageModel base) {
        this.base = base;
    }

    /**
     * Loads a version of {@code name} from read {@code files} and makes it the one new requests get; the replaced
     * version lives on until the requests that started with it end.
     *
     * @return peft's warnings about the base under this adapter ({@link AdapterLoader.Unscaled#warnings()})
     * @throws IllegalStateException after {@link #close()}
     */
    List<String> load(String name, AdapterFiles files) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(files, "files");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("an adapter name must not be empty (\"\" stands for the base model in metrics)");
        }
        AdapterLoader.Unscaled unscaled;
        treeLock.lock();
        try {
            requireOpen();
            unwrap();
            try {
                unscaled = AdapterLoader.read(base, name, ++lastVersion, files);
            } finally {
                rewrap();
            }
            for (String path : unscaled.linearPaths()) {
                wrappers.computeIfAbsent(path, p -> LayerTuner.swap(base, p, original -> new MultiLoraLinear(original, p, rows)));
            }
            for (String path : unscaled.expertPaths()) {
                wrappers.computeIfAbsent(path, p -> LayerTuner.swap(base, p, original -> new MultiExpertsLora(original, p, rows)));
            }
        } finally {
            treeLock.unlock();
        }
        // DoRA's scales read every adapted base weight and change nothing in the tree: decoding goes on meanwhile
        LoraAdapter loaded = unscaled.scaled();
        LoraAdapter replaced;
        treeLock.lock();
        try {
            if (closed) {
                loaded.release(); // the engine closed while the scales were computed
            }
            requireOpen();
            synchronized (this) {
                replaced = adapters.put(name, loaded);
            }
        } finally {
            treeLock.unlock();
        }
        if (replaced != null) {
            replaced.release();
        }
        return unscaled.warnings();
    }

    /** Removes {@code name} for new requests; true when it was loaded. */
    boolean unload(String name) {
        LoraAdapter removed;
        synchronized (this) {
            removed = adapters.remove(name);
        }
        if (removed != null) {
            removed.release();
        }
        return removed != null;
    }

    /** The loaded names, sorted. */
    synchronized List<String> names() {
        return List.copyOf(adapters.keySet());
    }

    /**
     * The current version of {@code name}, retained for one request (release it when the request ends), or null for
     * the base model.
     *
     * @throws UnknownAdapterException when no adapter has that name
     */
    synchronized LoraAdapter acquire(String name) {
        if (name == null) {
            return null;
        }
        LoraAdapter a = adapters.get(name);
        if (a == null) {
            throw new UnknownAdapterException(name, adapters.keySet());
        }
        return a.retain();
    }

    /** Logits (B, V) of the last position of a batch whose row i uses {@code rowAdapters[i]} (null: the base model). */
    Tensor nextTokenLogits(LoraAdapter[] rowAdapters, ModelInput input) {
        return withRows(rowAdapters, () -> base.nextTokenLogits(input));
    }

    /**
     * Runs the decoder stack over a batch, as {@link #nextTokenLogits} does, without the output head: what a chunk of
     * a prompt needs when only its keys and values (in the input's cache) are kept.
     */
    void prefill(LoraAdapter[] rowAdapters, ModelInput input) {
        withRows(rowAdapters, () -> base.hiddenStates(input));
    }

    private Tensor withRows(LoraAdapter[] rowAdapters, Supplier<Tensor> pass) {
        treeLock.lock();
        try {
            rows.set(rowAdapters);
            return pass.get();
        } finally {
            treeLock.unlock();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the inference engine is closed; build a new one");
        }
    }

    /** Puts the base model's own layers back and releases every loaded adapter; later loads are refused. */
    void close() {
        treeLock.lock();
        try {
            closed = true;
            unwrap();
            wrappers.clear();
        } finally {
            treeLock.unlock();
        }
        List<LoraAdapter> all;
        synchronized (this) {
            all = new ArrayList<>(adapters.values());
            adapters.clear();
        }
        all.forEach(LoraAdapter::release);
    }

    private void unwrap() {
        for (LayerTuner.Swap s : wrappers.values()) {
            s.parent().replaceChild(s.name(), s.original());
        }
    }

    private void rewrap() {
        for (LayerTuner.Swap s : wrappers.values()) {
            s.parent().replaceChild(s.name(), s.wrapper());
        }
    }
}
