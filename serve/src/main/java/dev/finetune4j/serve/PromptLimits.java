package dev.finetune4j.serve;

import dev.finetune4j.peft.serve.InferenceEngine;

/**
 * What a request's prompts may be, checked before they are tokenized: tokenizing takes microseconds a character,
 * tens of seconds for a body of megabytes, and would be wasted on prompts the engine refuses anyway.
 *
 * <p>A prompt can have at most {@code maxPromptTokens}: the engine refuses one that leaves no room for a new token
 * within the model's positions and its KV cache budget ({@link InferenceEngine#maxPromptTokens()}). No token stands
 * for more than {@link #MAX_CHARACTERS_PER_TOKEN} characters, so a longer text cannot fit and is refused by its
 * length alone.
 *
 * @param maxPrompts      engine requests one request may make: its prompts times {@code n}
 * @param maxPromptTokens tokens one prompt may have
 */
record PromptLimits(int maxPrompts, long maxPromptTokens) {
    /** The engine's default {@code maxQueuedRequests}: more prompts could never be queued at once. */
    static final int DEFAULT_MAX_PROMPTS = 64;
    /**
     * The most characters (UTF-16 units) one token stands for. A character takes at least one UTF-8 byte and the
     * tokens of byte-level BPE and SentencePiece vocabularies are a few bytes, rarely a few dozen (runs of spaces or
     * punctuation), so this leaves a wide margin. NOTE: a vocabulary with longer tokens would see valid prompts near
     * the limit refused: raise this bound then.
     */
    static final int MAX_CHARACTERS_PER_TOKEN = 256;

    /**
     * The limits for {@code engine}.
     *
     * @param maxPrompts prompts per request, at least 1
     */
    static PromptLimits of(InferenceEngine engine, int maxPrompts) {
        return new PromptLimits(maxPrompts, engine.maxPromptTokens());
    }

    /** The most characters a prompt that fits can have. */
    long maxCharacters() {
        // Java strings have fewer than 2^31 characters: capping the tokens there keeps the product in a long
        return Math.min(maxPromptTokens, Integer.MAX_VALUE) * MAX_CHARACTERS_PER_TOKEN;
    }

    /**
     * @param param the request field of the prompts
     * @throws ApiException 400 when there are more than {@link #maxPrompts}
     */
    void checkCount(String param, int prompts) {
        if (prompts > maxPrompts) {
            throw ApiException.invalid(param, "'" + param + "' has " + prompts + " prompts; this server takes at most " + maxPrompts
                    + " prompts per request (each waits in the engine's queue); send the others in further requests");
        }
    }

    /**
     * @param n       choices per prompt ({@code n})
     * @param prompts the request's prompts
     * @throws ApiException 400 when they make more than {@link #maxPrompts} engine requests
     */
    void checkChoices(int n, int prompts) {
        if ((long) n * prompts > maxPrompts) {
            throw ApiException.invalid("n", "'n' is " + n + (prompts == 1 ? "" : " for each of " + prompts + " prompts") + ": "
                    + (long) n * prompts + " generations, but this server takes at most " + maxPrompts + " per request "
                    + "(each waits in the engine's queue); ask for fewer and send further requests");
        }
    }

    /**
     * @param param the request field the text came from
     * @param what  the text, as the message names it ("prompt[2]")
     * @throws ApiException 400 when {@code characters} exceed {@link #maxCharacters()}
     */
    void checkCharacters(String param, String what, int characters) {
        if (characters > maxCharacters()) {
            throw ApiException.invalid(param, what + " has " + characters + " characters, but a prompt takes at most "
                    + maxPromptTokens + " tokens here (the model's positions and the engine's KV cache budget) of at most " + MAX_CHARACTERS_PER_TOKEN
                    + " characters each: at most " + maxCharacters() + " characters; shorten it");
        }
    }

    /**
     * Refuses a tokenized prompt that cannot fit before the request's other prompts are tokenized.
     *
     * @param param the request field the prompt came from
     * @param what  the prompt, as the message names it
     * @throws ApiException 400 when {@code tokens} exceed {@link #maxPromptTokens}
     */
    void checkTokens(String param, String what, int tokens) {
        if (tokens > maxPromptTokens) {
            throw ApiException.invalid(param, what + " has " + tokens + " tokens, but a prompt takes at most " + maxPromptTokens
                    + " tokens here (the model's positions and the engine's KV cache budget); shorten it");
        }
    }
}
