package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.generate.TokenLogprobs;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Log-probabilities in OpenAI's two response shapes, for the tokens of one HTTP request's choices.
 *
 * <p>A token's text is the tokenizer's decoding of that id alone (as vLLM shows it), and its {@code bytes} are the
 * token's own bytes from the vocabulary ({@link TokenBytes}), so that the bytes of a character split over several
 * tokens join into it, as OpenAI's {@code bytes} are meant to. Such a token's text shows U+FFFD. When the
 * vocabulary's bytes cannot be read, a token's {@code bytes} are its text's UTF-8, or {@code null} (OpenAI's "no
 * bytes representation") for a text holding U+FFFD, rather than the bytes of U+FFFD, which would join into wrong
 * text. Special tokens decode to "" (the tokenizer skips them).
 * Without a tokenizer a token shows as {@code "token_id:<id>"} (vLLM's form) with {@code bytes} null. Log-probabilities
 * below -9999 (a logit of -inf) are written as -9999, OpenAI's floor, because JSON has no infinity.
 *
 * <p>Not thread-safe: one per HTTP request, used by its handler thread.
 */
final class LogprobsJson {
    /** OpenAI's value for "very unlikely"; JSON cannot hold -Infinity. */
    static final double FLOOR = -9999.0;
    private static final char REPLACEMENT = '\uFFFD';

    /** A token's text and bytes ({@code null} when unknown). */
    private record TokenText(String token, byte[] bytes) {
    }

    private final Tokenizer tokenizer;
    private final TokenBytes vocabulary;
    private final Map<Long, TokenText> texts = new HashMap<>();
    /** Per choice, the characters of the token strings written so far: the next {@code text_offset}. */
    private final int[] textOffsets;

    /**
     * @param tokenizer  the model's tokenizer, or null when it has none
     * @param vocabulary its tokens' bytes, or null when they cannot be read
     * @param choices    the request's number of choices
     */
    LogprobsJson(Tokenizer tokenizer, TokenBytes vocabulary, int choices) {
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
        this.textOffsets = new int[choices];
    }

    /**
     * The chat shape: {@code {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob",
     * "bytes"}]}], "refusal": null}}.
     *
     * @param tokens the log-probabilities of the tokens, in order
     */
    ObjectNode chat(List<TokenLogprobs> tokens) {
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        ArrayNode content = out.putArray("content");
        for (TokenLogprobs lp : tokens) {
            ObjectNode entry = entry(lp.token(), lp.logprob());
            ArrayNode top = entry.putArray("top_logprobs");
            for (TokenLogprobs.Candidate c : lp.top()) {
                top.add(entry(c.token(), c.logprob()));
            }
            content.add(entry);
        }
        out.putNull("refusal");
        return out;
    }

    /**
     * The legacy completions shape: {@code {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}],
     * "text_offset"}}. Each {@code top_logprobs} object holds the N most likely tokens and the chosen one (up to N + 1
     * entries, as OpenAI's reference says); tokens whose texts are equal share one key, the more likely one's value.
     * {@code text_offset} counts the characters (code points) of the earlier tokens' strings of the choice, across the
     * chunks of a stream.
     *
     * @param choice the choice's index
     * @param tokens the log-probabilities of the choice's next tokens, in order
     */
    ObjectNode text(int choice, List<TokenLogprobs> tokens) {
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        ArrayNode strings = out.putArray("tokens");
        ArrayNode values = out.putArray("token_logprobs");
        ArrayNode tops = out.putArray("top_logprobs");
        ArrayNode offsets = out.putArray("text_offset");
        for (TokenLogprobs lp : tokens) {
            String token = tokenText(lp.token()).token();
            strings.add(token);
            values.add(value(lp.logprob()));
            ObjectNode top = tops.addObject();
            for (TokenLogprobs.Candidate c : lp.top()) {
                putIfAbsent(top, tokenText(c.token()).token(), c.logprob());
            }
            putIfAbsent(top, token, lp.logprob());
            offsets.add(textOffsets[choice]);
            textOffsets[choice] += token.codePointCount(0, token.length());
        }
        return out;
    }

    private static void putIfAbsent(ObjectNode object, String key, double logprob) {
        if (!object.has(key)) {
            object.put(key, value(logprob));
        }
    }

    private ObjectNode entry(long id, double logprob) {
        TokenText t = tokenText(id);
        ObjectNode entry = OpenAiJson.MAPPER.createObjectNode();
        entry.put("token", t.token());
        entry.put("logprob", value(logprob));
        if (t.bytes() == null) {
            entry.putNull("bytes");
        } else {
            ArrayNode bytes = entry.putArray("bytes");
            for (byte b : t.bytes()) {
                bytes.add(b & 0xFF);
            }
        }
        return entry;
    }

    private static double value(double logprob) {
        return Math.max(logprob, FLOOR);
    }

    private TokenText tokenText(long id) {
        return texts.computeIfAbsent(id, this::decode);
    }

    private TokenText decode(long id) {
        if (tokenizer == null) {
            return new TokenText("token_id:" + id, null);
        }
        String token = tokenizer.decode(new long[]{id});
        byte[] own = vocabulary != null && id < vocabulary.size() && !vocabulary.isSpecial((int) id)
                ? vocabulary.bytes((int) id) : null;
        if (own != null) {
            return new TokenText(token, own);
        }
        return new TokenText(token, token.indexOf(REPLACEMENT) >= 0 ? null : token.getBytes(StandardCharsets.UTF_8));
    }
}
