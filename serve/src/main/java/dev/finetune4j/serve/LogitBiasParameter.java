package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.GenerationConfig;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * OpenAI's {@code logit_bias}: an object mapping token ids, written as strings ({@code {"50256": -100}}), to a bias
 * in [-100, 100] added to that token's logit before sampling or the greedy choice. It changes which tokens are chosen,
 * not the log-probabilities reported ({@code logprobs} are the model's own, before the bias: vLLM's default). Every
 * key and value is checked before anything runs, and a 400 names the offending key.
 */
final class LogitBiasParameter {
    static final String FIELD = "logit_bias";
    /**
     * The most entries one request may bias: 300, the bound OpenAI's API is reported to enforce (not stated in its
     * reference); it also bounds the work per token of applying the bias.
     */
    static final int MAX_ENTRIES = 300;
    /** A token id's decimal digits at most: vocabularies stay far below 10^10. */
    private static final int MAX_KEY_LENGTH = 10;

    private LogitBiasParameter() {
    }

    /**
     * The bias of {@code body}, empty when absent or null.
     *
     * @param vocabSize the model's vocabulary size: every key must be a token id below it
     * @throws ApiException 400 naming the key that is not a token id of the vocabulary or whose value is not a number
     *                      in [-100, 100], or when there are more than {@link #MAX_ENTRIES}
     */
    static Map<Long, Float> parse(JsonNode body, int vocabSize) {
        if (!JsonFields.present(body, FIELD)) {
            return Map.of();
        }
        JsonNode bias = body.get(FIELD);
        if (!bias.isObject()) {
            throw ApiException.invalid(FIELD, "'logit_bias' must be an object mapping token ids (as strings) to a bias "
                    + "in [-100, 100], such as {\"50256\": -100}; got " + JsonFields.describe(bias));
        }
        if (bias.size() > MAX_ENTRIES) {
            throw ApiException.invalid(FIELD, "'logit_bias' has " + bias.size() + " entries; at most " + MAX_ENTRIES
                    + " are allowed");
        }
        float max = GenerationConfig.MAX_LOGIT_BIAS;
        Map<Long, Float> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = bias.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            long id = tokenId(key, vocabSize);
            JsonNode value = e.getValue();
            if (!value.isNumber() || !(Math.abs(value.asDouble()) <= max)) { // NaN fails the comparison
                throw ApiException.invalid(FIELD, "'logit_bias' of token \"" + shorten(key) + "\" must be a number from -"
                        + (int) max + " to " + (int) max + ", got " + JsonFields.describe(value));
            }
            out.put(id, (float) value.asDouble());
        }
        return out;
    }

    private static long tokenId(String key, int vocabSize) {
        boolean digits = !key.isEmpty() && key.length() <= MAX_KEY_LENGTH && key.chars().allMatch(c -> c >= '0' && c <= '9');
        long id = digits ? Long.parseLong(key) : -1;
        if (id < 0 || id >= vocabSize) {
            throw ApiException.invalid(FIELD, "'logit_bias' key \"" + shorten(key) + "\" is not a token id of this model: "
                    + "keys are decimal ids from 0 to " + (vocabSize - 1) + " (encode the text with the model's tokenizer)");
        }
        return id;
    }

    /** A key as sent, cut to a readable length for the message. */
    private static String shorten(String key) {
        return key.length() <= 40 ? key : key.substring(0, 40) + "...";
    }
}
