package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.Arrays;

/**
 * A request's prompt being read in chunks (chunked prefill), a few engine steps at a time so that running requests
 * keep decoding meanwhile. The keys and values of the positions read so far live in a cache of the request's own
 * (rows 1, capacity the prompt's length), which outlives each step's tensor scope until the request joins the
 * running batch. Each chunk is one forward pass of the request alone that appends to that cache and attends to the
 * cached positions and, causally, to itself, at positions counted from the cache's length: what one forward pass
 * over the whole prompt computes, one query row at a time.
 *
 * <p>Thread safety: confined to the decode thread.
 */
final class PromptPrefill implements AutoCloseable {
    private final ActiveRequest request;
    private final long[] prompt;
    private final int layers;
    private BatchCache cache; // null until the first chunk: its cache gives the buffers' shapes, dtypes and device
    private int read;

    /**
     * @param tokens what to read: the request's prompt, or its whole sequence so far when its cache went stale
     *               ({@link dev.finetune4j.core.models.LogitsModel#cacheGoesStale}); the next token follows them
     */
    PromptPrefill(ActiveRequest request, long[] tokens, int layers) {
        this.request = request;
        this.prompt = tokens;
        this.layers = layers;
    }

    ActiveRequest request() {
        return request;
    }

    /** Prompt positions not read yet. */
    int remaining() {
        return prompt.length - read;
    }

    /**
     * Reads the next {@code tokens} positions of the prompt (fewer when fewer remain) in one forward pass. Only the
     * last chunk runs the output head, on the prompt's last position: the others keep just their keys and values.
     *
     * @return the request's first token (chosen on the device, or logits to choose from) once the whole prompt is
     *         read, else null
     */
    NextToken readChunk(AdapterSet adapters, int tokens) {
        int end = read + Math.min(tokens, remaining());
        long[][] ids = {Arrays.copyOfRange(prompt, read, end)};
        LoraAdapter[] rowAdapters = {request.adapter()};
        try (var scope = TensorScope.open()) {
            KvCache first = cache == null ? KvCache.forGeneration(layers, end) : null;
            // each chunk is judged by the whole prompt's length, as one pass over it would be (longrope)
            ModelInput input = new ModelInput(ids, null, null, null, first != null ? first : cache.forStep(), null,
                    new int[]{prompt.length});
            NextToken next = null;
            if (end == prompt.length) {
                next = NextToken.of(adapters.nextTokenLogits(rowAdapters, input), new ActiveRequest[]{request})[0];
            } else {
                adapters.prefill(rowAdapters, input);
            }
            if (first != null) {
                cache = new BatchCache(1, prompt.length, end, first);
                cache.copyPrefill(first, end, 0);
            } else {
                cache.advance(end - read);
            }
            read = end;
            return next;
        }
    }

    /** The prompt's keys and values once {@link #readChunk} returned its first token, for {@link DecodeBatch#add}. */
    KvCache promptCache() {
        return cache.forStep();
    }

    /** Frees the cache (the request stays with the caller). */
    @Override
    public void close() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }
}
