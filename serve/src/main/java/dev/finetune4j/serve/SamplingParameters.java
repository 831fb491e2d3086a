package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.GenerationConfig;
import dev.finetune4j.core.generate.OutputConstraint;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * The generation fields that {@code /v1/completions} and {@code /v1/chat/completions} share, read and validated:
 * {@code max_tokens} (chat also {@code max_completion_tokens}), {@code temperature} (OpenAI's default 1),
 * {@code top_p}, {@code presence_penalty}, {@code frequency_penalty} (both -2 to 2, over the generated tokens),
 * {@code logit_bias} ({@link LogitBiasParameter}), {@code seed}, {@code stop}, {@code n}, {@code stream} and
 * {@code stream_options}, with {@code top_k} and {@code repetition_penalty} as extensions (as vLLM names them).
 * {@code response_format} (JSON mode) is read by {@link ResponseFormats} into the generation's constraint.
 * {@code logprobs} differs between the routes and is read by their {@link ResponseShape}. Fields that ask for what
 * the server does not do are refused rather than ignored, so a client never gets an answer to a question it did not
 * ask.
 *
 * @param generation   the engine's sampling settings, the model's stop tokens included
 * @param stop         OpenAI's {@code stop} strings (at most 4, none empty)
 * @param n            choices per prompt; choice {@code j} of a prompt samples with {@code seed + j}
 * @param stream       answer with server-sent events
 * @param includeUsage {@code stream_options.include_usage}: end the stream with a usage chunk
 */
record SamplingParameters(GenerationConfig generation, List<String> stop, int n, boolean stream, boolean includeUsage) {
    /** OpenAI's limit on {@code stop} strings. */
    static final int MAX_STOP_STRINGS = 4;
    /** OpenAI's limit on {@code n}. */
    static final int MAX_N = 128;
    /** Bounds the text held back while a stop string may be starting, and the work of matching per token. */
    static final int MAX_STOP_LENGTH = 256;

    SamplingParameters {
        stop = List.copyOf(stop);
    }

    /**
     * Reads the fields of {@code body}.
     *
     * @param defaultMaxTokens {@code max_tokens} when the request has none
     * @param stopTokens       the ids that end generation (the tokenizer's end of sequence, the model's)
     * @param vocabSize        the model's vocabulary size, which {@code logit_bias} keys must stay below
     * @param constraint       what {@code response_format} asks of the output ({@link ResponseFormats}), or null
     */
    static SamplingParameters parse(JsonNode body, int defaultMaxTokens, Set<Long> stopTokens, int vocabSize,
                                    OutputConstraint constraint) {
        int n = (int) JsonFields.integer(body, "n", 1, 1, MAX_N);
        if (JsonFields.integer(body, "best_of", n, 1, Integer.MAX_VALUE) != n) {
            throw ApiException.invalid("best_of", "'best_of' must equal 'n' (or be absent): this server returns every choice "
                    + "it generates, ranking none");
        }
        Map<Long, Float> logitBias = LogitBiasParameter.parse(body, vocabSize);

        long maxTokens = JsonFields.integer(body, "max_tokens", defaultMaxTokens, 1, Integer.MAX_VALUE);
        maxTokens = JsonFields.integer(body, "max_completion_tokens", maxTokens, 1, Integer.MAX_VALUE);
        float temperature = (float) JsonFields.number(body, "temperature", 1, 0, false, 2);
        float topP = positiveFloat(body, "top_p", 1);
        long topK = JsonFields.integer(body, "top_k", 0, -1, Integer.MAX_VALUE); // vLLM's -1 and our 0 both mean off
        float repetitionPenalty = positiveFloat(body, "repetition_penalty", 100);
        float presencePenalty = (float) JsonFields.number(body, "presence_penalty", 0, -2, false, 2);
        float frequencyPenalty = (float) JsonFields.number(body, "frequency_penalty", 0, -2, false, 2);
        long seed = JsonFields.integer(body, "seed", ThreadLocalRandom.current().nextLong(), Long.MIN_VALUE, Long.MAX_VALUE);
        boolean stream = JsonFields.bool(body, "stream", false);
        boolean includeUsage = false;
        if (JsonFields.present(body, "stream_options")) {
            JsonNode options = body.get("stream_options");
            if (!stream) {
                throw ApiException.invalid("stream_options", "'stream_options' is only allowed with \"stream\": true");
            }
            if (!options.isObject()) {
                throw ApiException.invalid("stream_options", "'stream_options' must be an object such as {\"include_usage\": true}, got "
                        + JsonFields.describe(options));
            }
            includeUsage = JsonFields.bool(options, "include_usage", false);
        }
        GenerationConfig generation;
        try {
            generation = GenerationConfig.builder().maxNewTokens((int) maxTokens).temperature(temperature)
                    .topP(topP).topK((int) Math.max(0, topK)).repetitionPenalty(repetitionPenalty)
                    .presencePenalty(presencePenalty).frequencyPenalty(frequencyPenalty).logitBias(logitBias).constraint(constraint).stopTokens(stopTokens)
                    .seed(seed).build();
        } catch (IllegalArgumentException e) {
            // the checks above should leave nothing for the generator to refuse; if they fall behind its rules, the
            // client still gets a 400 with the generator's reason rather than a 500
            throw ApiException.invalid(null, "the sampling parameters (max_tokens, temperature, top_p, top_k, "
                    + "repetition_penalty, presence_penalty, frequency_penalty, logit_bias) are outside what the generator takes: " + e.getMessage());
        }
        return new SamplingParameters(generation, stopStrings(body), n, stream, includeUsage);
    }

    /**
     * A number in {@code (0, max]}, 1 (off) when absent, that stays above 0 as the generator's 32-bit float:
     * {@code 1e-50} passes a check on the double but rounds to 0.
     */
    private static float positiveFloat(JsonNode body, String field, double max) {
        float value = (float) JsonFields.number(body, field, 1, 0, true, max);
        if (value == 0) {
            throw ApiException.invalid(field, "'" + field + "' must be > 0 and <= " + max + ", got " + body.get(field).asDouble()
                    + ", which is 0 as a 32-bit float; use at least " + Float.MIN_VALUE);
        }
        return value;
    }

    /** {@code stop}: a string or an array of strings. */
    private static List<String> stopStrings(JsonNode body) {
        if (!JsonFields.present(body, "stop")) {
            return List.of();
        }
        JsonNode stop = body.get("stop");
        List<JsonNode> items = new ArrayList<>();
        if (stop.isArray()) {
            stop.forEach(items::add);
        } else {
            items.add(stop);
        }
        if (items.size() > MAX_STOP_STRINGS) {
            throw ApiException.invalid("stop", "'stop' has " + items.size() + " strings; at most " + MAX_STOP_STRINGS + " are allowed");
        }
        List<String> strings = new ArrayList<>();
        for (JsonNode item : items) {
            if (!item.isTextual() || item.asText().isEmpty()) {
                throw ApiException.invalid("stop", "'stop' must be a non-empty string or an array of them, got "
                        + JsonFields.describe(item) + (stop.isArray() ? " in the array" : ""));
            }
            if (item.asText().length() > MAX_STOP_LENGTH) {
                throw ApiException.invalid("stop", "a 'stop' string has " + item.asText().length() + " characters; at most "
                        + MAX_STOP_LENGTH + " are allowed");
            }
            strings.add(item.asText());
        }
        return strings;
    }

    /** Refuses {@code field} unless it is absent, null or a value for which {@code isDefault} holds. */
    static void refuseUnless(JsonNode body, String field, Predicate<JsonNode> isDefault, String message) {
        if (JsonFields.present(body, field) && !isDefault.test(body.get(field))) {
            throw ApiException.invalid(field, message);
        }
    }
}
