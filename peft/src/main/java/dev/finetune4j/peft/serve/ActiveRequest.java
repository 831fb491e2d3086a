package dev.finetune4j.peft.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.LogitsProcessing;
import dev.finetune4j.core.generate.OutputConstraint;
import dev.finetune4j.core.generate.TokenLogprobs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * A submitted request's state on the decode thread: its tokens so far, its own sampling stream, its stop rules, its
 * adapter version and its timing. The next token is a function of this request's logits, tokens and seed only, so
 * it does not depend on which other requests share the batch.
 *
 * <p>Thread safety: confined to the decode thread, except {@link #cancel()}, the future, and {@link #choose}, which the
 * decode thread hands to a pool thread while it waits.
 */
final class ActiveRequest {
    /**
     * The longest time limit a deadline holds, 2^62 ns (146 years): deadlines are {@link System#nanoTime()} values
     * compared by difference, which must stay within a long while the request runs. A longer timeout (the Duration
     * API allows 292 billion years) counts as this long: no limit in practice.
     */
    static final Duration LONGEST_TIMEOUT = Duration.ofNanos(1L << 62);

    private final GenerationConfig sampling;
    private final List<long[]> stopSequences;
    private final LoraAdapter adapter;
    private final String adapterName;
    private final TokenListener listener;
    private final CompletableFuture<Completion> future = new CompletableFuture<>();
    private final long submittedNanos;
    private final long deadlineNanos;
    private final long[] seq;
    private final int promptLength;
    private final int limit;
    private final SplittableRandom random;
    private final OutputConstraint.State constraint; // touched by the one task that chooses this request's token
    /** The alternatives per token asked for, or {@link CompletionRequest#NO_LOGPROBS}. */
    private final int topLogprobs;
    /** Each generated token's log-probabilities, when asked for. */
    private final List<TokenLogprobs> logprobs = new ArrayList<>();
    private volatile boolean cancelRequested;
    private int length;
    private long firstTokenNanos = -1;
    private long lastTokenNanos;
    private int stopSequenceLength;

    /**
     * @param adapter   the adapter version the request runs with (retained for it), or null for the base model
     * @param limit     the sequence length at which generation stops (prompt + max new tokens, within the positions)
     * @param timeout   the request's time limit ({@link #LONGEST_TIMEOUT} at most; a longer one counts as that)
     */
    ActiveRequest(CompletionRequest request, LoraAdapter adapter, TokenListener listener, long submittedNanos,
                  Duration timeout, int limit) {
        this.sampling = request.sampling();
        this.stopSequences = request.stopSequences();
        this.adapter = adapter;
        this.adapterName = request.adapter();
        this.listener = listener;
        this.submittedNanos = submittedNanos;
        this.deadlineNanos = submittedNanos + (timeout.compareTo(LONGEST_TIMEOUT) > 0 ? LONGEST_TIMEOUT : timeout).toNanos();
        long[] prompt = request.promptTokens();
        this.promptLength = prompt.length;
        this.limit = limit;
        this.seq = Arrays.copyOf(prompt, limit);
        this.length = prompt.length;
        this.random = new SplittableRandom(sampling.seed());
        this.constraint = sampling.constraint() == null ? null : sampling.constraint().start(sampling.stopTokens());
        this.topLogprobs = request.topLogprobs();
    }

    CompletableFuture<Completion> future() {
        return future;
    }

    LoraAdapter adapter() {
        return adapter;
    }

    /** The prompt, the first input of the request. */
    long[] prompt() {
        return Arrays.copyOf(seq, promptLength);
    }

    /** The prompt and the tokens generated so far. */
    long[] sequence() {
        return Arrays.copyOf(seq, length);
    }

    /** The newest token, the next input while decoding. */
    long lastToken() {
        return seq[length - 1];
    }

    /** Positions in the KV cache while decoding: every token but the newest. */
    int cachedPositions() {
        return length - 1;
    }

    /** Decoding steps left at most: each step adds one token until the limit. */
    int remainingSteps() {
        return limit - length;
    }

    /** Orders rows by adapter version (base first), so that each adapter's rows sit together in the batch. */
    long adapterOrder() {
        return adapter == null ? -1 : adapter.version();
    }

    /** The KV cache positions this request may take: its whole sequence up to the limit. */
    int reservedPositions() {
        return limit;
    }

    void cancel() {
        cancelRequested = true;
    }

    /** Whether the request ends before the next step: cancelled, timed out, or nothing left to generate. */
    FinishReason endedBeforeStep(long now) {
        if (cancelRequested) {
            return FinishReason.CANCELLED;
        }
        if (now - deadlineNanos >= 0) {
            return FinishReason.TIMEOUT;
        }
        return length >= limit ? FinishReason.LENGTH : null;
    }

    /**
     * Whether the device can choose this request's next token ({@link NextToken}, {@link GenerationConfig#choosesArgmax}):
     * not when it asks for log-probabilities, which need its row's logits on the host.
     */
    boolean choosesOnDevice() {
        return sampling.choosesArgmax() && topLogprobs == CompletionRequest.NO_LOGPROBS;
    }

    /**
     * Chooses the next token from this request's logits of its last position (then {@link #accept} takes it), with
     * its log-probabilities (from the logits as given, before the bias and penalties) when the request asks for them.
     * May run on another thread than the decode thread's, one at a time per request.
     *
     * @param logits the row's logits (V), changed in place by the bias and penalties
     * @return the chosen token
     * @throws IllegalStateException when the logits hold NaN
     */
    NextToken choose(float[] logits) {
        if (LogitsProcessing.hasNaN(logits)) {
            throw new IllegalStateException("the logits of " + (adapterName == null ? "the base model" : "adapter '"
                    + adapterName + "'") + " hold NaN after " + (length - promptLength) + " new tokens: its weights "
                    + "are not finite (a diverged fine-tune), or an activation overflowed in reduced precision; check "
                    + "the adapter, or serve under Precision.F32");
        }
        float[] raw = topLogprobs == CompletionRequest.NO_LOGPROBS ? null : logits.clone();
        int token = LogitsProcessing.choose(logits, seq, promptLength, length, sampling, random, constraint);
        return new NextToken(token, raw == null ? null : TokenLogprobs.of(raw, token, topLogprobs), null);
    }

    /**
     * Records the next token and hands it to the listener.
     *
     * @param tokenLogprobs the token's log-probabilities, null when the request does not ask for them
     * @return why the request ends after this token, or null when it goes on
     */
    FinishReason accept(int token, TokenLogprobs tokenLogprobs, long now, EngineStats stats) {
        seq[length++] = token;
        if (tokenLogprobs != null) {
            logprobs.add(tokenLogprobs);
        }
        if (firstTokenNanos < 0) {
            firstTokenNanos = now;
            stats.firstToken(now - submittedNanos);
        } else {
            stats.interToken(now - lastTokenNanos);
        }
        lastTokenNanos = now;
        try {
            listener.onToken(token, tokenLogprobs);
        } catch (VirtualMachineError e) {
            throw e; // out of memory or stack: the engine itself cannot go on
        } catch (RuntimeException | Error e) {
            return FinishReason.CANCELLED; // a failing listener (an assertion too) ends its own request only
        }
        if (sampling.stopTokens().contains((long) token)) {
            return FinishReason.STOP;
        }
        for (long[] stop : stopSequences) {
            if (endsWith(stop)) {
                stopSequenceLength = stop.length;
                return FinishReason.STOP;
            }
        }
        return length >= limit ? FinishReason.LENGTH : null;
    }

    /** Whether the generated tokens (not the prompt) end with {@code stop}. */
    private boolean endsWith(long[] stop) {
        if (length - promptLength < stop.length) {
            return false;
        }
        return Arrays.equals(seq, length - stop.length, length, stop, 0, stop.length);
    }

    /**
     * Completes the future, drops the stop sequence from the tokens (and their log-probabilities) and releases the
     * adapter version.
     */
    void finish(FinishReason reason, long now, EngineStats stats) {
        long[] generated = Arrays.copyOfRange(seq, promptLength, length - stopSequenceLength);
        Duration ttft = firstTokenNanos < 0 ? null : Duration.ofNanos(firstTokenNanos - submittedNanos);
        stats.completed(reason, promptLength, now - submittedNanos);
        if (adapter != null) {
            adapter.release();
        }
        List<TokenLogprobs> generatedLogprobs = logprobs.subList(0, Math.min(logprobs.size(), generated.length));
        future.complete(new Completion(generated, reason, promptLength, ttft, Duration.ofNanos(now - submittedNanos),
                generatedLogprobs));
    }

    /** Completes the future exceptionally (the engine failed on this request), counts it and releases the adapter version. */
    void fail(Throwable error, EngineStats stats) {
        stats.failed(promptLength);
        if (adapter != null) {
            adapter.release();
        }
        future.completeExceptionally(error);
    }
}
