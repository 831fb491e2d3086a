package dev.finetune4j.core.generate.json;

import dev.finetune4j.core.generate.OutputConstraint;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One request's JSON constraint: which token ids keep the output a valid prefix of a {@link JsonGrammar} value, and
 * the state after each chosen token. End-of-sequence is allowed exactly when the output is a complete value; once
 * nothing else can follow (a closed top-level object), it is the only token allowed.
 *
 * <pre>{@code
 * JsonGrammar grammar = JsonGrammar.anyObject();                  // shared, compiled once
 * TokenBytes vocab = TokenBytes.fromTokenizerJson(modelDir);      // shared, one per tokenizer
 * JsonConstraint json = new JsonConstraint(grammar, vocab, eosId); // one per request
 * while (!json.isEnded()) {
 *     float[] logits = model.nextLogits(ids);
 *     json.maskLogits(logits);              // -infinity outside json.allowed()
 *     long next = sampler.choose(logits);   // any sampling: greedy, top-p, ...
 *     json.accept(next);                    // advances; refuses a token the mask did not allow
 *     if (next == eosId) break;
 *     ids.add(next);
 * }
 * }</pre>
 *
 * <p>Cost: a mask walks the vocabulary trie from the current state, pruning at the first refused byte; inside a
 * string without length limits the plain-content tokens are added as a precomputed set. See
 * {@code JsonMaskBenchmark} in the test sources for measured speeds.
 *
 * <p>Not thread-safe: one instance per request, used by one thread at a time. The grammar and the vocabulary it
 * reads are immutable and shared.
 */
public final class JsonConstraint implements OutputConstraint.State {
    private final TokenBytes vocab;
    private final TokenIndex index;
    private final long[] eosIds;
    private JsonState state;
    private boolean ended;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();

    /**
     * A constraint at the start of the output.
     *
     * @param grammar the compiled grammar
     * @param vocab   the vocabulary's token bytes (pad it with {@link TokenBytes#padded} to the model's logits size)
     * @param eosIds  the end-of-sequence ids (several for models such as Llama 3); at least one
     */
    public JsonConstraint(JsonGrammar grammar, TokenBytes vocab, long... eosIds) {
        if (eosIds.length == 0) {
            throw new IllegalArgumentException("no end-of-sequence id given; pass the tokenizer's eos id (and any "
                    + "other id that ends a turn, such as Llama 3's <|eot_id|>)");
        }
        for (long id : eosIds) {
            if (id < 0 || id >= vocab.size()) {
                throw new IllegalArgumentException("end-of-sequence id " + id + " is outside the vocabulary of "
                        + vocab.size() + " ids");
            }
        }
        this.vocab = vocab;
        this.index = vocab.index();
        this.eosIds = eosIds.clone();
        this.state = JsonState.start(grammar);
    }

    /**
     * The number of ids a mask covers.
     *
     * @return the vocabulary size
     */
    public int vocabSize() {
        return vocab.size();
    }

    /**
     * Fills {@code mask} with the allowed ids: bit {@code id % 64} of word {@code id / 64}. Empty after
     * end-of-sequence.
     *
     * @param mask at least {@code ceil(vocabSize / 64)} words; overwritten
     */
    public void allowed(long[] mask) {
        int words = (vocab.size() + 63) >>> 6;
        if (mask.length < words) {
            throw new IllegalArgumentException("mask has " + mask.length + " words; " + vocab.size() + " ids need " + words);
        }
        Arrays.fill(mask, 0L);
        if (ended) {
            return;
        }
        if (state.isComplete()) {
            for (long id : eosIds) {
                mask[(int) (id >>> 6)] |= 1L << id;
            }
        }
        JsonState.Stack only = state.single();
        if (only != null && only.frame() instanceof Frames.Str str && str.state() == 0) {
            addPlainTokens(str, mask);
            if (state.inFreeString()) {
                index.notPlainRests.walk(0, state, mask);
            } else {
                index.notPlainByPrefixChars.walkByPrefixChars(only, str, state.grammar(), mask);
                index.notPlainLongPrefix.walk(0, state, mask);
            }
        } else {
            index.all.walkFromRoot(state, mask, index);
        }
    }

    /** Inside a string between whole characters: the plain-content tokens whose characters fit under maxLength. */
    private void addPlainTokens(Frames.Str str, long[] mask) {
        if (str.node().unbounded()) {
            for (int w = 0; w < index.plain.length; w++) {
                mask[w] |= index.plain[w];
            }
            return;
        }
        int room = str.node().maxLength - str.chars();
        for (int k = 1; k <= Math.min(room, TokenIndex.BUCKETS); k++) {
            long[] bucket = index.byChars[k];
            for (int w = 0; w < bucket.length; w++) {
                mask[w] |= bucket[w];
            }
        }
        for (int i = 0; i < index.longIds.length; i++) {
            if (index.longChars[i] <= room) {
                mask[index.longIds[i] >>> 6] |= 1L << index.longIds[i];
            }
        }
    }

    /**
     * A new mask of the allowed ids (see {@link #allowed(long[])}).
     *
     * @return the mask, {@code ceil(vocabSize / 64)} words
     */
    public long[] allowed() {
        long[] mask = new long[(vocab.size() + 63) >>> 6];
        allowed(mask);
        return mask;
    }

    /**
     * Sets every logit of an id that is not allowed to negative infinity, ids past the vocabulary included.
     *
     * @param logits one row of next-token logits
     * @throws IllegalStateException when no token may come next although the output has not ended: the grammar
     *                               needs bytes that no token of this vocabulary spells
     */
    @Override
    public void maskLogits(float[] logits) {
        long[] mask = allowed();
        if (!ended && Arrays.stream(mask).allMatch(word -> word == 0)) {
            // without this, every logit is -inf and the choice fails later, blaming the token it made
            throw new IllegalStateException("JSON mode is stuck: no token of the vocabulary continues the output \""
                    + tail() + "\" (the grammar needs a byte that none of its " + vocab.size() + " tokens spells, as with a "
                    + "tokenizer without byte fallback); use a schema whose text this tokenizer can write");
        }
        for (int id = 0; id < logits.length; id++) {
            if (id >= vocab.size() || (mask[id >>> 6] & (1L << id)) == 0) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * Advances past a chosen token.
     *
     * @param tokenId the id the sampler chose, which {@link #allowed()} must have allowed
     * @throws IllegalArgumentException when the token cannot continue the output; the state is unchanged
     */
    @Override
    public void accept(long tokenId) {
        if (ended) {
            throw new IllegalStateException("token " + tokenId + " after end-of-sequence; the output has ended");
        }
        if (tokenId < 0 || tokenId >= vocab.size()) {
            throw new IllegalArgumentException("token " + tokenId + " is outside the vocabulary of " + vocab.size() + " ids");
        }
        for (long eos : eosIds) {
            if (tokenId == eos) {
                if (!state.isComplete()) {
                    throw refused(tokenId, "it ends the output before the JSON value is complete");
                }
                ended = true;
                return;
            }
        }
        byte[] bytes = vocab.bytesShared((int) tokenId);
        if (vocab.isSpecial((int) tokenId) || bytes == null || bytes.length == 0) {
            throw refused(tokenId, "it is a special or added token, or has no text of its own");
        }
        JsonState next = state.advance(bytes);
        if (next == null) {
            throw refused(tokenId, "its bytes " + describe(bytes) + " do not continue valid JSON for this grammar");
        }
        state = next;
        output.writeBytes(bytes);
    }

    private IllegalArgumentException refused(long tokenId, String why) {
        return new IllegalArgumentException("token " + tokenId + " is not allowed: " + why + "; output so far: \""
                + tail() + "\". Mask the logits with allowed() before choosing");
    }

    /** The output's last 80 characters, for messages. */
    private String tail() {
        String text = output.toString(StandardCharsets.UTF_8);
        return text.length() > 80 ? "..." + text.substring(text.length() - 80) : text;
    }

    private static String describe(byte[] bytes) {
        String hex = HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 32));
        return "\"" + new String(bytes, StandardCharsets.UTF_8) + "\" (hex " + hex + (bytes.length > 32 ? "..." : "") + ")";
    }

    /**
     * Whether the output so far is a complete value, so that end-of-sequence is allowed.
     *
     * @return true when the value is complete
     */
    @Override
    public boolean isComplete() {
        return state.isComplete();
    }

    /**
     * Whether end-of-sequence has been accepted.
     *
     * @return true once the output has ended
     */
    public boolean isEnded() {
        return ended;
    }

    /**
     * The output so far as text (a character cut off at the end shows as U+FFFD).
     *
     * @return the text of the accepted tokens
     */
    public String output() {
        return output.toString(StandardCharsets.UTF_8);
    }

    /** Package-private for tests: the recognizer state. */
    JsonState state() {
        return state;
    }
}
