package dev.finetune4j.peft.serve;

import dev.finetune4j.core.autograd.Autograd;
import dev.finetune4j.core.autograd.Precision;
import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.peft.AdapterFiles;
import dev.finetune4j.peft.Peft;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Serves one base model and any number of LoRA (and DoRA) adapters to many callers: requests are submitted from any
 * thread, decoded on the engine's own thread, streamed token by token to a {@link TokenListener} and completed
 * through a future.
 *
 * <pre>{@code
 * try (InferenceEngine engine = InferenceEngine.builder(base).build()) {
 *     engine.loadAdapter("support", Path.of("adapters/support"));
 *     Completion c = engine.submit(new CompletionRequest("support", prompt, GenerationConfig.greedy(32)),
 *             TokenListener.NONE).completion().join();
 * }
 * }</pre>
 *
 * <p>Continuous batching on one decode thread: each engine step advances every request of the running batch by one
 * token, then reads waiting prompts in chunks with the rest of the step's token budget
 * ({@link Builder#stepTokenBudget}: one token per running request, the remainder for prompts, in arrival order), so
 * that a long prompt, or many arriving at once, delays the running streams by at most a budget's worth of work per
 * token instead of stalling them until every prompt is read. A request whose prompt is read joins the batch;
 * requests leave when they finish and others join at the next step. Rows for different adapters share a step (the
 * base product once for the batch, each row's low-rank update with its own adapter), and each row sees only its own
 * keys and values at its own positions, so a request's tokens (greedy, or sampled from its seed) are those it gets
 * alone; a prompt read in chunks attends to its earlier chunks as one pass over it does, so chunking does not change
 * them either. Admission takes requests from a bounded queue in order while the batch ({@link Builder#maxBatchSize})
 * and the KV cache budget ({@link Builder#kvCacheBudgetTokens}) have room. Metrics are logged through SLF4J every
 * {@link Builder#metricsLogInterval} and returned by {@link #metrics()}.
 *
 * <p>A request may ask for each token's log-probability and the most likely alternatives
 * ({@link CompletionRequest#topLogprobs()}): the model's own, computed from its row's logits as the model gives them,
 * so batching does not change them either. Such a row's logits are read back to the host each step; a greedy row that
 * does not ask is still chosen on the device, reading back two numbers.
 *
 * <p>To serve QLoRA adapters as they were trained, quantize the base before building the engine
 * ({@code QloraInjector.quantize(base)}): the engine then computes every product with the NF4 weights, and DoRA's
 * scales from them, as {@code QloraInjector.load} does for one adapter. {@link #loadAdapter} warns about an adapter
 * trained on a base quantized otherwise than this one.
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
    private final int stepTokenBudget;
    private final int maxQueuedRequests;
    private final long kvCacheBudgetTokens;
    private final Duration defaultTimeout;
    private final long metricsLogIntervalNanos;
    private final Precision precision;
    private final boolean baseQuantized;
    private final EngineStats stats;
    private final Deque<ActiveRequest> queue = new ArrayDeque<>(); // guarded by this
    /** Admitted requests: their prompt being read or in the batch. */
    private final List<ActiveRequest> running = new ArrayList<>(); // guarded by this
    /** Admitted requests whose prompt is being read, in arrival order. */
    private final Deque<PromptPrefill> prefilling = new ArrayDeque<>(); // decode thread only
    private final DecodeBatch batch; // decode thread only
    private final Thread decodeThread;
    private long reservedPositions; // guarded by this
    private boolean closed; // guarded by this
    private boolean draining; // guarded by this
    private Throwable failure; // guarded by this

    private InferenceEngine(Builder b) {
        this.base = b.base;
        this.adapters = new AdapterSet(b.base);
        this.batch = new DecodeBatch();
        this.maxBatchSize = b.maxBatchSize;
        this.stepTokenBudget = b.stepTokenBudget;
        this.maxQueuedRequests = b.maxQueuedRequests;
        this.kvCacheBudgetTokens = b.kvCacheBudgetTokens;
        this.defaultTimeout = b.defaultTimeout;
        this.metricsLogIntervalNanos = b.metricsLogInterval.toNanos();
        this.precision = b.precision;
        this.baseQuantized = Peft.quantizedBase(b.base);
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
     * with. LoRA adapters are served (rsLoRA and DoRA included), in a mixture of experts on the experts too
     * (per-expert layers, or stacked experts through {@code target_parameters}); other methods, {@code modules_to_save}
     * and trained biases are refused (merge those into a model folder instead).
     *
     * <p>An adapter whose training base was quantized differently from this engine's ({@link #baseQuantized()}: a
     * QLoRA adapter over a full-precision base, or the reverse) is loaded all the same, and its logits differ from
     * those seen in training by the quantization error; the returned warnings say so (they are logged once, by peft's
     * loader), as they do for an adapter trained on another architecture.
     *
     * @param name       the name requests use ({@link CompletionRequest#adapter()}); not empty
     * @param peftFolder the adapter folder
     * @return warnings about this base under the adapter, empty when it is the kind the adapter was trained on
     * @throws dev.finetune4j.peft.PeftException when the folder cannot be read, does not fit the base model, or
     *                                           holds a method the engine does not serve
     * @throws IllegalArgumentException          when {@code name} is empty
     * @throws IllegalStateException             after {@link #close()}
     */
    public List<String> loadAdapter(String name, Path peftFolder) {
        Objects.requireNonNull(peftFolder, "peftFolder");
        ensureOpen();
        try (AdapterFiles files = AdapterFiles.read(peftFolder)) {
            return loadAdapter(name, files);
        }
    }

    /**
     * As {@link #loadAdapter(String, Path)}, from a folder read already (for a caller that looked at its config
     * first, e.g. {@link AdapterFiles#trainedOnQuantizedBase()}); the caller keeps and closes {@code files}.
     *
     * @param name  the name requests use; not empty
     * @param files the read adapter folder, not closed
     * @return warnings about this base under the adapter, empty when it is the kind the adapter was trained on
     * @throws dev.finetune4j.peft.PeftException when the adapter does not fit the base model or holds a method the
     *                                           engine does not serve
     * @throws IllegalArgumentException          when {@code name} is empty
     * @throws IllegalStateException             after {@link #close()}
     */
    public List<String> loadAdapter(String name, AdapterFiles files) {
        ensureOpen();
        List<String> warnings = adapters.load(name, files);
        LOG.info("adapter '{}' loaded from {}", name, files.dir());
        return warnings;
    }

    /**
     * Whether the base model this engine serves is NF4-quantized ({@code QloraInjector.quantize} or a load with
     * NF4 quantization, before the engine was built): the base that QLoRA adapters were trained on.
     *
     * @return true when the base holds NF4 linear layers
     */
    public boolean baseQuantized() {
        return baseQuantized;
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
     *                                   the KV cache budget, or a token id (of the prompt, a stop sequence or the
     *                                   logit bias) is outside the vocabulary
     * @throws IllegalStateException     after {@link #close()}, and once {@link #drain} began
     */
    public CompletionHandle submit(CompletionRequest request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener (use TokenListener.NONE)");
        int limit = checkedLimit(request);
        long now = System.nanoTime();
        synchronized (this) {
            ensureOpen();
            if (draining) {
                throw new IllegalStateException("the inference engine is draining before it closes and takes no new "
                        + "requests; send them to another replica");
            }
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
     * The longest prompt {@link #submit} accepts: one token less than the model's positions and than the KV cache
     * budget, so that at least one token can be generated. A front end can refuse a longer prompt before the work of
     * tokenizing it.
     *
     * @return the most prompt tokens
     */
    public int maxPromptTokens() {
        return (int) Math.min(base.spec().maxPositionEmbeddings(), kvCacheBudgetTokens) - 1;
    }

    /**
     * The size of the base model's vocabulary: token ids (of prompts, stop sequences, logit biases) are below it.
     *
     * @return the vocabulary size
     */
    public int vocabSize() {
        return base.spec().vocabSize();
    }

    /**
     * The engine's counters and recent latencies.
     *
     * @return a snapshot
     */
    public EngineMetrics metrics() {
        synchronized (this) {
            return stats.snapshot(System.nanoTime(), queue.size(), running.size(), reservedPositions, kvCacheBudgetTokens);
        }
    }

    /**
     * Stops taking requests and waits until every queued and running one has ended, or {@code timeout} has passed:
     * the first half of a graceful shutdown (a rolling restart), whose second half is {@link #close()}, which cancels
     * what is left. Meanwhile {@link #submit} refuses new requests and {@link #draining()} is true, so that a front end
     * can tell its load balancer. Calling it again waits again.
     *
     * @param timeout the longest wait
     * @return true when every request ended within the timeout, false when some are still queued or running
     * @throws InterruptedException when the waiting thread is interrupted (the engine keeps draining)
     */
    public boolean drain(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, Math.min(timeout.toNanos(), Long.MAX_VALUE / 4));
        synchronized (this) {
            draining = true;
            notifyAll();
            while (!queue.isEmpty() || !running.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed || failure != null) {
                    return queue.isEmpty() && running.isEmpty();
                }
                // NOTE: polled, not only notified: requests leave the queue and the running set in several places
                wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 20)));
            }
            return true;
        }
    }

    /**
     * Whether {@link #drain} began: the engine takes no new requests and is about to close.
     *
     * @return true once draining
     */
    public synchronized boolean draining() {
        return draining;
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
        notifyAll(); // a queued request ends at the decode thread's next look at the queue
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
        checkIds(request.sampling().logitBias().keySet().stream().mapToLong(Long::longValue).sorted().toArray(), "logit bias");
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
            if (failure != null) {
                throw new IllegalStateException("the inference engine stopped after an internal error (" + failure
                        + "); build a new one", failure);
            }
            if (closed) {
                throw new IllegalStateException("the inference engine is closed; build a new one");
            }
        }
    }

    /**
     * The decode thread: admits queued requests, runs one decoding step for the whole batch, reads prompt chunks
     * with the rest of the step's token budget (a request whose prompt is read joins the batch), ends finished
     * requests, until {@link #close()}.
     */
    private void decodeLoop() {
        long nextLog = System.nanoTime() + metricsLogIntervalNanos;
        long completedAtLastLog = 0;
        try (var noGrad = Autograd.noGrad(); var numbers = precision.use()) {
            List<ActiveRequest> admitted;
            while ((admitted = admit(nextLog)) != null) {
                admitted.forEach(r -> prefilling.addLast(new PromptPrefill(r, r.prompt(), base.spec().numLayers())));
                int decoded = batch.size() > 0 ? decodeStep() : 0;
                readPrompts(stepTokenBudget - decoded);
                long now = System.nanoTime();
                if (now - nextLog >= 0) {
                    completedAtLastLog = logMetrics(completedAtLastLog);
                    nextLog = now + metricsLogIntervalNanos;
                }
            }
            endAll(null);
        } catch (RuntimeException | Error e) {
            LOG.error("the inference engine's decode thread failed; every request ends with this error", e);
            synchronized (this) {
                failure = e;
                closed = true;
            }
            endAll(e);
        } finally {
            batch.close();
            prefilling.forEach(PromptPrefill::close);
            prefilling.clear();
        }
    }

    /**
     * Ends queued requests that were cancelled or timed out, then moves requests from the queue to the running set
     * while the batch and the KV cache budget have room. Waits while there is nothing to do (at most until the next
     * metrics log).
     *
     * @return the newly admitted requests (possibly none), or null once the engine is closed
     */
    private List<ActiveRequest> admit(long nextLog) {
        List<ActiveRequest> admitted = new ArrayList<>();
        List<ActiveRequest> ended = new ArrayList<>();
        synchronized (this) {
            while (!closed) {
                long now = System.nanoTime();
                for (var it = queue.iterator(); it.hasNext(); ) {
                    ActiveRequest r = it.next();
                    if (r.endedBeforeStep(now) != null) {
                        it.remove();
                        ended.add(r);
                    }
                }
                while (!queue.isEmpty() && running.size() < maxBatchSize
                        && reservedPositions + queue.peekFirst().reservedPositions() <= kvCacheBudgetTokens) {
                    ActiveRequest r = queue.pollFirst();
                    running.add(r);
                    reservedPositions += r.reservedPositions();
                    admitted.add(r);
                }
                if (!admitted.isEmpty() || !running.isEmpty() || !ended.isEmpty() || now - nextLog >= 0) {
                    break;
                }
                try {
                    wait(Math.max(1, (nextLog - now) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    closed = true;
                }
            }
        }
        long now = System.nanoTime();
        ended.forEach(r -> r.finish(r.endedBeforeStep(now), now, stats));
        return closedNow() ? null : admitted;
    }

    private synchronized boolean closedNow() {
        return closed;
    }

    /**
     * Reads prompt chunks, in arrival order, until {@code budget} positions were read or no prompt waits; a request
     * whose prompt is read chooses its first token and joins the batch. Requests cancelled or timed out meanwhile end
     * first. The budget is at least 1 while a prompt waits: a waiting prompt's request counts among the at most
     * {@code maxBatchSize} running ones, so fewer rows decoded, and the budget is at least {@code maxBatchSize}.
     */
    private void readPrompts(int budget) {
        long start = System.nanoTime();
        for (var it = prefilling.iterator(); it.hasNext(); ) {
            PromptPrefill p = it.next();
            FinishReason reason = p.request().endedBeforeStep(start);
            if (reason != null) {
                it.remove();
                p.close();
                end(p.request(), reason, null);
            }
        }
        int left = budget;
        while (left > 0 && !prefilling.isEmpty()) {
            PromptPrefill p = prefilling.peekFirst();
            int chunk = Math.min(left, p.remaining());
            left -= chunk;
            ActiveRequest r = p.request();
            FinishReason reason;
            try {
                NextToken first = p.readChunk(adapters, chunk);
                if (first == null) {
                    return; // the budget ended inside this prompt: its next chunk comes at the next step
                }
                long now = System.nanoTime();
                reason = first.applyTo(r, now, stats);
                stats.tokens(now, 1);
                if (reason == null) {
                    batch.add(r, p.promptCache());
                }
            } catch (RuntimeException e) {
                LOG.warn("request failed while its prompt was computed", e);
                prefilling.removeFirst();
                p.close();
                end(r, null, e);
                continue;
            }
            prefilling.removeFirst();
            p.close();
            if (reason != null) {
                end(r, reason, null);
            }
        }
    }

    /**
     * One token for every request of the batch, after ending those that were cancelled or timed out.
     *
     * @return the rows decoded (their share of the step's token budget)
     */
    private int decodeStep() {
        long start = System.nanoTime();
        for (ActiveRequest r : batch.requests()) {
            FinishReason reason = r.endedBeforeStep(start);
            if (reason != null) {
                end(r, reason, null);
            }
        }
        recomputeStaleCaches();
        if (batch.size() == 0) {
            return 0;
        }
        batch.compactIfWasteful();
        List<ActiveRequest> rows = batch.slots();
        int decoded = batch.size();
        NextToken[] next;
        try {
            next = batch.step(adapters);
        } catch (RuntimeException e) {
            LOG.warn("a decoding step failed; the requests of the batch end with its error", e);
            batch.requests().forEach(r -> end(r, null, e));
            return decoded;
        }
        long now = System.nanoTime();
        stats.tokens(now, decoded); // before any future completes, so that callers see their tokens counted
        for (int i = 0; i < rows.size(); i++) {
            ActiveRequest r = rows.get(i);
            if (r != null) {
                FinishReason reason;
                try {
                    reason = next[i].applyTo(r, now, stats);
                } catch (RuntimeException e) {
                    end(r, null, e); // no token for this row (NaN logits): the others go on
                    continue;
                }
                if (reason != null) {
                    end(r, reason, null);
                }
            }
        }
        return decoded;
    }

    /**
     * Takes out of the batch the requests whose cached keys and values go stale at this step (a Phi-3 longrope model
     * switching to its long factors as the request outgrows the pretrained length) and reads each one's whole
     * sequence anew, first among the prompts, as transformers' generate recomputes the cache of a request alone; the
     * request rejoins the batch with the token that pass chooses.
     */
    private void recomputeStaleCaches() {
        for (ActiveRequest r : batch.requests()) {
            if (base.cacheGoesStale(r.cachedPositions(), r.cachedPositions() + 1)) {
                batch.remove(r);
                prefilling.addFirst(new PromptPrefill(r, r.sequence(), base.spec().numLayers()));
            }
        }
    }

    /** Takes a request out of the batch and the running set, then completes it (or fails it with {@code error}). */
    private void end(ActiveRequest r, FinishReason reason, Throwable error) {
        batch.remove(r);
        synchronized (this) {
            if (running.remove(r)) {
                reservedPositions -= r.reservedPositions();
            }
        }
        if (error != null) {
            r.fail(error, stats);
        } else {
            r.finish(reason, System.nanoTime(), stats);
        }
    }

    /** Ends every queued and running request: cancelled on close, failed with {@code error} after a crash. */
    private void endAll(Throwable error) {
        List<ActiveRequest> all;
        synchronized (this) {
            all = new ArrayList<>(running);
            all.addAll(queue);
            queue.clear();
        }
        for (ActiveRequest r : all) {
            end(r, FinishReason.CANCELLED, error);
        }
    }

    /** Logs the metrics: at info when requests completed since the last log, else at debug. */
    private long logMetrics(long completedBefore) {
        EngineMetrics m = metrics();
        boolean active = m.completedRequests() != completedBefore || m.runningRequests() > 0;
        if (active ? LOG.isInfoEnabled() : LOG.isDebugEnabled()) {
            String line = String.format("%.1f tokens/s, %d running, %d queued, KV cache %d/%d positions, TTFT p50 %.0f ms "
                            + "p99 %.0f ms, inter-token p50 %.1f ms p99 %.1f ms, %d completed, requests by adapter %s",
                    m.tokensPerSecond(), m.runningRequests(), m.queueDepth(), m.kvCacheTokensInUse(), m.kvCacheTokensBudget(),
                    m.timeToFirstToken().p50Millis(), m.timeToFirstToken().p99Millis(), m.interTokenLatency().p50Millis(),
                    m.interTokenLatency().p99Millis(), m.completedRequests(), m.requestsByAdapter());
            if (active) {
                LOG.info("{}", line);
            } else {
                LOG.debug("{}", line);
            }
        }
        return m.completedRequests();
    }

    /**
     * Settings of an {@link InferenceEngine}.
     *
     * <p>Defaults: {@code maxBatchSize} 16, {@code stepTokenBudget} 256, {@code maxQueuedRequests} 64,
     * {@code kvCacheBudgetTokens} 16 times the model's positions, {@code defaultTimeout} 5 minutes,
     * {@code precision} {@link Precision#F32}.
     */
    public static final class Builder {
        private final LanguageModel base;
        private int maxBatchSize = 16;
        private int stepTokenBudget = 256;
        private int maxQueuedRequests = 64;
        private long kvCacheBudgetTokens;
        private Duration defaultTimeout = Duration.ofMinutes(5);
        private Duration metricsLogInterval = Duration.ofSeconds(30);
        private Precision precision = Precision.F32;

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
         * The tokens one engine step computes at most (chunked prefill): each running request decodes one, and
         * waiting prompts are read, in arrival order, in chunks that fill the rest. Smaller budgets keep the
         * inter-token latency of running streams low while long prompts arrive; larger ones read prompts in fewer,
         * more efficient passes (lower time to first token when few requests run). At least {@code maxBatchSize},
         * so that a waiting prompt always gets part of a step.
         *
         * @param value at least 1 (and at least {@code maxBatchSize} when the engine is built)
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is below 1
         */
        public Builder stepTokenBudget(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("stepTokenBudget must be >= 1, got " + value);
            }
            stepTokenBudget = value;
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
         * Limits over 146 years (what {@link System#nanoTime()} deadlines can count) mean no limit.
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
         * How often the engine logs its metrics through SLF4J (at info while it serves, at debug while idle).
         *
         * @param value a positive duration; default 30 seconds
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is not positive
         */
        public Builder metricsLogInterval(Duration value) {
            if (value == null || value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("metricsLogInterval must be a positive duration, got " + value);
            }
            metricsLogInterval = value;
            return this;
        }

        /**
         * The number formats of the engine's forward passes. {@link Precision#BF16_MIXED} is the one for a GPU: every
         * product multiplies bf16 operands on the tensor cores, reading a bf16 checkpoint's weights as they are (load
         * the base with {@code LoadOptions.dtype(BF16)} to keep float32 ones from being rounded at every use), and the
         * KV cache holds bf16 keys and values, half the memory. Under {@link Precision#F32} (the default, what the
         * CPU computes best) a GPU converts each bf16 weight to a float32 copy at every product. Tokens may differ
         * between the two where two candidates' logits are within bf16's rounding.
         *
         * @param value the precision of every request's forward passes
         * @return this builder
         * @throws NullPointerException when {@code value} is null
         */
        public Builder precision(Precision value) {
            precision = Objects.requireNonNull(value, "precision");
            return this;
        }

        /**
         * Starts an engine with these settings.
         *
         * @return the running engine; close it to stop its thread
         * @throws IllegalArgumentException when {@code stepTokenBudget} is below {@code maxBatchSize}
         */
        public InferenceEngine build() {
            if (stepTokenBudget < maxBatchSize) {
                throw new IllegalArgumentException("stepTokenBudget " + stepTokenBudget + " is below maxBatchSize "
                        + maxBatchSize + ": a full batch would leave no tokens for reading prompts; raise "
                        + "stepTokenBudget or lower maxBatchSize");
            }
            return new InferenceEngine(this);
        }
    }
}
