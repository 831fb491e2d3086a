package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;

/**
 * Serves one base model and any number of LoRA adapters to many callers: requests are submitted from any thread,
 * decoded on the engine's own thread, streamed token by token to a {@link TokenListener} and completed through a
 * future.
 *
 * <pre>{@code
 * try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
 *     engine.loadAdapter("support", Path.of("adapters/support"));
 *     Completion c = engine.submit(new CompletionRequest("support", prompt, GenerationConfig.greedy(32)),
 *             TokenListener.NONE).completion().join();
 * }
 * }</pre>
 *
 * <p>The engine takes the base model over while it runs: it puts its own wrappers into the model's tree (taken out
 * again by {@link #close()}), so the model must not be used elsewhere meanwhile; closing the engine does not close
 * the model. A request keeps the adapter version it was submitted with until it ends, so loading a new version of
 * an adapter, or unloading it, does not disturb requests in flight.
 *
 * <p>Thread safety: every method may be called from any thread.
 */
public final class InferenceEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InferenceEngine.class);

    private final LanguageModel base;
    private final AdapterSet adapters;
    private final int maxBatchSize;
    private final int maxQueuedRequests;
    private final long kvCacheBudgetTokens;
    private final Duration defaultTimeout;
    private final EngineStats stats;
    private final Deque<ActiveRequest> queue = new ArrayDeque<>(); // guarded by this
    private final Thread decodeThread;
    private ActiveRequest running; // guarded by this
    private boolean closed; // guarded by this

    private InferenceEngine(Builder b) {
        this.base = b.base;
        this.adapters = new AdapterSet(b.base);
        this.maxBatchSize = b.maxBatchSize;
        this.maxQueuedRequests = b.maxQueuedRequests;
        this.kvCacheBudgetTokens = b.kvCacheBudgetTokens;
        this.defaultTimeout = b.defaultTimeout;
        this.stats = new EngineStats(System.nanoTime());
        base.requiresGrad(false);
        base.train(false);
        this.decodeThread = Thread.ofPlatform().name("finetune4j-inference").daemon(true).unstarted(this::decodeLoop);
        decodeThread.start();
    }

    /**
     * A builder for an engine serving {@code base}.
     *
     * @param base the base model; the engine uses it exclusively until closed
     * @return a builder with the defaults listed on {@link Builder}
     */
    public static Builder builder(LanguageModel base) {
        return new Builder(base);
    }

    /**
     * Loads the LoRA adapter in a PEFT folder ({@code adapter_config.json} and {@code adapter_model.safetensors}) under
     * {@code name}, or replaces the version loaded under that name; requests in flight keep the version they started
     * with. LoRA and rsLoRA adapters are served; other methods, DoRA, {@code modules_to_save} and trained biases are
     * refused (merge those into a model folder instead).
     *
     * @param name       the name requests use ({@link CompletionRequest#adapter()}); not empty
     * @param peftFolder the adapter folder
     * @throws dev.finetune4j.peft.PeftException when the folder cannot be read, does not fit the base model, or
     *                                           holds a method the engine does not serve
     * @throws IllegalStateException             after {@link #close()}
     */
    public void loadAdapter(String name, Path peftFolder) {
        ensureOpen();
        adapters.load(name, peftFolder);
        LOG.info("adapter '{}' loaded from {}", name, peftFolder);
    }

    /**
     * Removes an adapter for new requests; requests in flight finish with it.
     *
     * @param name the adapter's name
     * @return true when an adapter of that name was loaded
     */
    public boolean unloadAdapter(String name) {
        boolean removed = adapters.unload(name);
        if (removed) {
            LOG.info("adapter '{}' unloaded", name);
        }
        return removed;
    }

    /**
     * The names of the loaded adapters.
     *
     * @return the names, sorted
     */
    public List<String> adapterNames() {
        return adapters.names();
    }

    /**
     * Queues a request; its tokens go to {@code listener} as they are generated and its result to the returned
     * handle's future.
     *
     * @param request  what to generate
     * @param listener receives each generated token on the engine's thread ({@link TokenListener#NONE} for none)
     * @return the request's handle
     * @throws EngineOverloadedException when {@code maxQueuedRequests} requests already wait
     * @throws UnknownAdapterException   when the request names an adapter that is not loaded
     * @throws IllegalArgumentException  when the prompt leaves no room to generate within the model's positions or
     *                                   the KV cache budget, or a token id is outside the vocabulary
     * @throws IllegalStateException     after {@link #close()}
     */
    public CompletionHandle submit(CompletionRequest request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener (use TokenListener.NONE)");
        int limit = checkedLimit(request);
        long now = System.nanoTime();
        synchronized (this) {
            ensureOpen();
            if (queue.size() >= maxQueuedRequests) {
                Duration retry = retryAfter();
                throw new EngineOverloadedException(queue.size() + " requests already wait (maxQueuedRequests "
                        + maxQueuedRequests + "); retry after " + retry.toMillis() + " ms or raise maxQueuedRequests", retry);
            }
            LoraAdapter adapter = adapters.acquire(request.adapter());
            Duration timeout = request.timeout() != null ? request.timeout() : defaultTimeout;
            ActiveRequest r = new ActiveRequest(request, adapter, listener, now, timeout, limit);
            queue.addLast(r);
            stats.submitted(request.adapter());
            notifyAll();
            return new CompletionHandle(r.future(), () -> cancel(r));
        }
    }

    /**
     * The engine's counters and recent latencies.
     *
     * @return a snapshot
     */
    public EngineMetrics metrics() {
        synchronized (this) {
            long inUse = running == null ? 0 : running.reservedPositions();
            return stats.snapshot(System.nanoTime(), queue.size(), running == null ? 0 : 1, inUse, kvCacheBudgetTokens);
        }
    }

    /**
     * Ends every queued and running request as {@link FinishReason#CANCELLED}, stops the decode thread and waits
     * for it, takes the engine's wrappers out of the base model and frees the adapters. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            queue.forEach(ActiveRequest::cancel);
            if (running != null) {
                running.cancel();
            }
            notifyAll();
        }
        boolean interrupted = false;
        while (decodeThread.isAlive()) {
            try {
                decodeThread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        adapters.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void cancel(ActiveRequest r) {
        r.cancel();
        notifyAll(); // a queued request ends at once
    }

    private int checkedLimit(CompletionRequest request) {
        int maxPositions = base.spec().maxPositionEmbeddings();
        long[] prompt = request.promptTokens();
        if (prompt.length >= maxPositions) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, which leaves no room to "
                    + "generate: the model takes at most " + maxPositions + " positions (max_position_embeddings); "
                    + "shorten or truncate the prompt");
        }
        checkIds(prompt, "prompt");
        for (long[] stop : request.stopSequences()) {
            checkIds(stop, "stop sequence");
        }
        int limit = (int) Math.min((long) prompt.length + request.sampling().maxNewTokens(), maxPositions);
        if (limit > kvCacheBudgetTokens) {
            throw new IllegalArgumentException("the request needs " + limit + " KV cache positions (prompt "
                    + prompt.length + " + maxNewTokens " + request.sampling().maxNewTokens() + "), more than the engine's "
                    + "whole budget of " + kvCacheBudgetTokens + " (kvCacheBudgetTokens): lower maxNewTokens or raise the budget");
        }
        return limit;
    }

    private void checkIds(long[] ids, String what) {
        int vocab = base.spec().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException(what + " token " + i + " is " + ids[i] + ", outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
    }

    /** The wait after which a full queue likely has room: the queue drains a batch per mean request duration. */
    private Duration retryAfter() {
        double batches = Math.ceil((double) queue.size() / maxBatchSize);
        long nanos = (long) (batches * stats.meanRequestNanos());
        return Duration.ofMillis(Math.max(1000, nanos / 1_000_000));
    }

    private void ensureOpen() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the inference engine is closed; build a new one");
            }
        }
    }

    private void decodeLoop() {
        while (true) {
            ActiveRequest next;
            synchronized (this) {
                while (queue.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                next = queue.pollFirst();
                running = next;
            }
            if (next == null) {
                return;
            }
            try {
                decode(next);
            } catch (RuntimeException | Error e) {
                LOG.error("request failed", e);
                next.fail(e);
            }
            synchronized (this) {
                running = null;
            }
        }
    }

    /** Generates one request alone: the prompt as one forward pass, then one token per step with the KV cache. */
    private void decode(ActiveRequest r) {
        LoraAdapter[] rowAdapters = {r.adapter()};
        FinishReason reason = r.endedBeforeStep(System.nanoTime());
        KvCache cache = KvCache.forGeneration(base.spec().numLayers(), r.reservedPositions());
        try (var scope = TensorScope.open(); var ng = Autograd.noGrad()) {
            long[] feed = r.tokens();
            while (reason == null) {
                Tensor logits = adapters.forward(rowAdapters, new ModelInput(new long[][]{feed}, null, null, null, cache));
                int last = logits.dim(1) - 1;
                float[] row = logits.slice(1, last, last + 1).toFloatArray();
                long now = System.nanoTime();
                reason = r.next(row, now, stats);
                stats.tokens(now, 1);
                if (reason == null) {
                    reason = r.endedBeforeStep(now);
                }
                long[] all = r.tokens();
                feed = new long[]{all[all.length - 1]};
            }
        }
        r.finish(reason, System.nanoTime(), stats);
    }

    /**
     * Settings of an {@link InferenceEngine}.
     *
     * <p>Defaults: {@code maxBatchSize} 16, {@code maxQueuedRequests} 64, {@code kvCacheBudgetTokens} 16 times the
     * model's positions, {@code defaultTimeout} 5 minutes.
     */
    public static final class Builder {
        private final LanguageModel base;
        private int maxBatchSize = 16;
        private int maxQueuedRequests = 64;
        private long kvCacheBudgetTokens;
        private Duration defaultTimeout = Duration.ofMinutes(5);

        private Builder(LanguageModel base) {
            this.base = Objects.requireNonNull(base, "base");
            this.kvCacheBudgetTokens = 16L * base.spec().maxPositionEmbeddings();
        }

        /**
         * The most requests decoded together in one step.
         *
         * @param value at least 1
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is below 1
         */
        public Builder maxBatchSize(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxBatchSize must be >= 1, got " + value);
            }
            maxBatchSize = value;
            return this;
        }

        /**
         * The most requests waiting for admission; {@link InferenceEngine#submit} refuses more with
         * {@link EngineOverloadedException}.
         *
         * @param value at least 1
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is below 1
         */
        public Builder maxQueuedRequests(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxQueuedRequests must be >= 1, got " + value);
            }
            maxQueuedRequests = value;
            return this;
        }

        /**
         * The KV cache positions running requests may reserve together; a request reserves its prompt plus its
         * {@code maxNewTokens} (within the model's positions) and waits in the queue until that much is free.
         *
         * @param value at least 1
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is below 1
         */
        public Builder kvCacheBudgetTokens(long value) {
            if (value < 1) {
                throw new IllegalArgumentException("kvCacheBudgetTokens must be >= 1, got " + value);
            }
            kvCacheBudgetTokens = value;
            return this;
        }

        /**
         * The time limit of requests that give none ({@link CompletionRequest#timeout()} null), counted from submission.
         *
         * @param value a positive duration
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is not positive
         */
        public Builder defaultTimeout(Duration value) {
            if (value == null || value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("defaultTimeout must be a positive duration, got " + value);
            }
            defaultTimeout = value;
            return this;
        }

        /**
         * Starts an engine with these settings.
         *
         * @return the running engine; close it to stop its thread
         */
        public InferenceEngine build() {
            return new InferenceEngine(this);
        }
    }
}
