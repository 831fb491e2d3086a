package dev.finetune4j.serve;

import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.serve.Completion;
import dev.finetune4j.peft.serve.CompletionHandle;
import dev.finetune4j.peft.serve.CompletionRequest;
import dev.finetune4j.peft.serve.EngineOverloadedException;
import dev.finetune4j.peft.serve.InferenceEngine;
import dev.finetune4j.peft.serve.TokenListener;
import dev.finetune4j.peft.serve.UnknownAdapterException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The engine requests of one HTTP request, {@code n} per prompt ("choices": choice {@code p * n + j} is prompt
 * {@code p}'s {@code j}-th, sampled with the request's seed plus {@code j}), turned into text. The engine's thread only
 * queues events (a token, a finished request); the HTTP handler's virtual thread takes them in {@link #drain},
 * detokenizes, cuts at stop strings (cancelling that engine request) and hands the text to a {@link Listener}, so a
 * slow client never holds up the decoding of others. Streaming and whole responses both read the run this way.
 *
 * <p>Not thread-safe: created and drained by one handler thread. {@link #close()} cancels what is still running
 * (a client that went away, a failure while writing).
 */
final class GenerationRun implements AutoCloseable {

    /** What {@link #drain} reports, in order per choice: text pieces, then one finish. */
    interface Listener {
        /**
         * Text that became final.
         *
         * @param choice   the choice's index
         * @param text     the new text ("" only when the model has no tokenizer)
         * @param tokens   the generated ids whose text this is (extension field {@code token_ids})
         * @param logprobs their log-probabilities, one per token, when the request asks for them; else empty
         */
        void onText(int choice, String text, long[] tokens, List<TokenLogprobs> logprobs);

        /**
         * The choice is complete.
         *
         * @param choice       the choice's index
         * @param finish why it ended
         */
        void onFinish(int choice, ChoiceFinish finish);
    }

    private sealed interface Event permits TokenEvent, DoneEvent {
    }

    private record TokenEvent(int choice, long token, TokenLogprobs logprobs) implements Event {
    }

    private record DoneEvent(int choice, Completion completion, Throwable failure) implements Event {
    }

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<CompletionHandle> handles = new ArrayList<>();
    private final List<ChoiceText> choices = new ArrayList<>();
    private final int promptTokens;
    private int completionTokens;

    private GenerationRun(List<long[]> prompts, int n, Tokenizer tokenizer, List<String> stopStrings) {
        int total = 0;
        for (long[] prompt : prompts) {
            for (int j = 0; j < n; j++) {
                choices.add(new ChoiceText(tokenizer, prompt, stopStrings));
            }
            total += prompt.length;
        }
        promptTokens = total;
    }

    /**
     * Submits {@code params.n()} engine requests per prompt. When one is refused, those already submitted are cancelled and the
     * refusal becomes the HTTP error: 429 (queue full), 404 (unknown adapter), 400 (prompt too long, bad token id),
     * 503 (engine closed).
     *
     * @param engine    the engine
     * @param adapter   the adapter's name, or null for the base model
     * @param prompts   the prompts' token ids
     * @param params    sampling, stop strings
     * @param tokenizer the model's tokenizer, or null when it has none (then stop strings must be empty)
     * @param topLogprobs alternatives per token with each token's log-probability, or
     *                    {@link CompletionRequest#NO_LOGPROBS}
     * @param promptParam the request field the prompts came from, for 400 messages
     * @return the running requests
     */
    static GenerationRun start(InferenceEngine engine, String adapter, List<long[]> prompts, SamplingParameters params,
                               Tokenizer tokenizer, int topLogprobs, String promptParam) {
        int n = params.n();
        GenerationRun run = new GenerationRun(prompts, n, tokenizer, params.stop());
        List<long[]> stopSequences = tokenizer == null ? List.of() : tokenStopSequences(tokenizer, params.stop());
        GenerationConfig generation = params.generation();
        try {
            for (int i = 0; i < run.choices.size(); i++) {
                int choice = i;
                CompletionRequest request = new CompletionRequest(adapter, prompts.get(i / n),
                        generation.withSeed(generation.seed() + i % n), stopSequences, null, topLogprobs);
                CompletionHandle handle = engine.submit(request, new TokenListener() {
                    @Override
                    public void onToken(long token) {
                        onToken(token, null);
                    }

                    @Override
                    public void onToken(long token, TokenLogprobs logprobs) {
                        run.events.add(new TokenEvent(choice, token, logprobs));
                    }
                });
                run.handles.add(handle);
                handle.completion().whenComplete((c, failure) -> run.events.add(new DoneEvent(choice, c, failure)));
            }
            return run;
        } catch (EngineOverloadedException e) {
            run.close();
            throw ApiException.overloaded("the server is at capacity: " + e.getMessage() + "; retry after the Retry-After "
                    + "header's seconds", e.retryAfter());
        } catch (UnknownAdapterException e) {
            run.close();
            throw ApiException.unknownModel("model '" + e.adapter() + "' is not loaded (it was unloaded meanwhile); "
                    + "GET /v1/models lists the models served");
        } catch (IllegalArgumentException e) {
            run.close();
            throw ApiException.invalid(promptParam, e.getMessage());
        } catch (IllegalStateException e) {
            run.close();
            throw ApiException.unavailable("the server is shutting down (" + e.getMessage() + "); retry against a running server");
        }
    }

    /**
     * The stop strings as token sequences, so the engine can end a request in the step that completes one; the text
     * check in {@link ChoiceText} still decides (the model may spell a stop string with other tokens).
     */
    private static List<long[]> tokenStopSequences(Tokenizer tokenizer, List<String> stops) {
        List<long[]> sequences = new ArrayList<>();
        for (String stop : stops) {
            long[] ids = tokenizer.encode(stop);
            if (ids.length > 0) {
                sequences.add(ids);
            }
        }
        return sequences;
    }

    /**
     * Reports every choice's text and finish to {@code listener}, returning when all have finished.
     *
     * @throws ApiException         503 when the engine was closed under a request, 500 when it failed
     * @throws InterruptedException when the handler thread is interrupted (the server is stopping)
     */
    void drain(Listener listener) throws InterruptedException {
        int open = choices.size();
        while (open > 0) {
            Event event = events.take();
            switch (event) {
                case TokenEvent t -> {
                    ChoiceText choice = choices.get(t.choice());
                    if (choice.finished) {
                        continue; // a token generated before our cancel reached the engine
                    }
                    completionTokens++;
                    String text = choice.next(t.token(), t.logprobs());
                    if (!text.isEmpty() || choice.detokenizer == null) {
                        listener.onText(t.choice(), text, choice.takeTokens(), choice.takeLogprobs());
                    }
                    if (choice.stops.stopped()) {
                        choice.finished = true;
                        handles.get(t.choice()).cancel();
                        reportHeldTokens(t.choice(), choice, listener);
                        listener.onFinish(t.choice(), ChoiceFinish.STOP);
                        open--;
                    }
                }
                case DoneEvent d -> {
                    ChoiceText choice = choices.get(d.choice());
                    if (choice.finished) {
                        continue;
                    }
                    choice.finished = true;
                    open--;
                    ChoiceFinish finish = finish(d);
                    String text = choice.finish();
                    if (!text.isEmpty()) {
                        listener.onText(d.choice(), text, choice.takeTokens(), choice.takeLogprobs());
                    }
                    reportHeldTokens(d.choice(), choice, listener);
                    listener.onFinish(d.choice(), choice.stops.stopped() ? ChoiceFinish.STOP : finish);
                }
            }
        }
    }

    /**
     * Reports the tokens a choice still holds, with no text, as it ends: tokens whose text a stop string cut away (or
     * that detokenized to nothing) are counted in {@code usage} and keep their log-probabilities, as vLLM reports them.
     */
    private static void reportHeldTokens(int index, ChoiceText choice, Listener listener) {
        if (choice.tokenCount > 0) {
            listener.onText(index, "", choice.takeTokens(), choice.takeLogprobs());
        }
    }

    private static ChoiceFinish finish(DoneEvent d) {
        if (d.failure() != null) {
            throw ApiException.internal("generation failed: " + d.failure() + "; the server log has the details");
        }
        return switch (d.completion().finishReason()) {
            case STOP -> ChoiceFinish.STOP;
            case LENGTH -> ChoiceFinish.LENGTH;
            case TIMEOUT -> ChoiceFinish.TIMEOUT;
            // we only cancel after a stop string, handled before: the engine was closed under the request
            case CANCELLED -> throw ApiException.unavailable("the server is shutting down and cancelled this request after "
                    + d.completion().tokens().length + " tokens; retry against a running server");
        };
    }

    /** The prompts' tokens, each prompt counted once however many choices it has ({@code usage.prompt_tokens}). */
    int promptTokens() {
        return promptTokens;
    }

    /** The tokens generated so far, summed over choices ({@code usage.completion_tokens}). */
    int completionTokens() {
        return completionTokens;
    }

    /** Cancels the engine requests that are still running. */
    @Override
    public void close() {
        for (int i = 0; i < handles.size(); i++) {
            if (!choices.get(i).finished) {
                handles.get(i).cancel();
            }
        }
    }

    /** One choice's detokenizer, stop-string cut and the tokens (with their log-probabilities) not yet reported. */
    private static final class ChoiceText {
        final IncrementalDetokenizer detokenizer;
        final StopStringMatcher stops;
        long[] tokens = new long[8];
        int tokenCount;
        final List<TokenLogprobs> logprobs = new ArrayList<>();
        boolean finished;

        ChoiceText(Tokenizer tokenizer, long[] prompt, List<String> stopStrings) {
            detokenizer = tokenizer == null ? null : new IncrementalDetokenizer(tokenizer, prompt);
            stops = new StopStringMatcher(stopStrings);
        }

        String next(long token, TokenLogprobs tokenLogprobs) {
            if (tokenCount == tokens.length) {
                tokens = Arrays.copyOf(tokens, 2 * tokens.length);
            }
            tokens[tokenCount++] = token;
            if (tokenLogprobs != null) {
                logprobs.add(tokenLogprobs);
            }
            return detokenizer == null ? "" : stops.append(detokenizer.next(token));
        }

        String finish() {
            if (detokenizer == null) {
                return "";
            }
            String text = stops.append(detokenizer.flush());
            return text + stops.flush();
        }

        long[] takeTokens() {
            long[] out = Arrays.copyOf(tokens, tokenCount);
            tokenCount = 0;
            return out;
        }

        List<TokenLogprobs> takeLogprobs() {
            List<TokenLogprobs> out = List.copyOf(logprobs);
            logprobs.clear();
            return out;
        }
    }
}
