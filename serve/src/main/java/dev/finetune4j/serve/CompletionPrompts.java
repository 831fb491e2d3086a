package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code prompt} of {@code /v1/completions} in the four forms OpenAI's API allows: a string, an array of
 * strings, an array of token ids, or an array of arrays of token ids. Each prompt becomes one choice; token-id
 * prompts need no tokenizer. A text prompt gets the tokenizer's special tokens (Llama's BOS), as vLLM's completions
 * endpoint adds them by default; token ids are taken as they are. The number of prompts and the length of each text are checked before any text is
 * tokenized ({@link PromptLimits}).
 */
final class CompletionPrompts {
    private static final String FIELD = "prompt";

    private CompletionPrompts() {
    }

    /**
     * The prompts' token ids.
     *
     * @throws ApiException 400 when {@code prompt} is missing, empty or of another shape, holds more prompts or longer
     *                      ones than {@link ServedModels#promptLimits()} allow, or is text and the model has no tokenizer
     */
    static List<long[]> parse(JsonNode body, ServedModels models) {
        JsonNode prompt = body.get(FIELD);
        if (prompt == null || prompt.isNull()) {
            throw ApiException.invalid(FIELD, "'prompt' is required: a string, an array of strings, an array of token ids "
                    + "or an array of arrays of token ids");
        }
        if (prompt.isTextual()) {
            return List.of(encode(prompt.asText(), models, ""));
        }
        if (!prompt.isArray() || prompt.isEmpty()) {
            throw ApiException.invalid(FIELD, "'prompt' must be a string, an array of strings, an array of token ids or an "
                    + "array of arrays of token ids, got " + (prompt.isArray() ? "an empty array" : JsonFields.describe(prompt)));
        }
        JsonNode first = prompt.get(0);
        if (first.isIntegralNumber()) {
            return List.of(tokenIds(prompt, ""));
        }
        models.promptLimits().checkCount(FIELD, prompt.size());
        List<long[]> prompts = new ArrayList<>();
        if (first.isTextual()) {
            for (int i = 0; i < prompt.size(); i++) {
                JsonNode item = prompt.get(i);
                if (!item.isTextual()) {
                    throw mixed(i, "a string", item);
                }
                prompts.add(encode(item.asText(), models, "[" + i + "]"));
            }
        } else if (first.isArray()) {
            for (int i = 0; i < prompt.size(); i++) {
                JsonNode item = prompt.get(i);
                if (!item.isArray()) {
                    throw mixed(i, "an array of token ids", item);
                }
                prompts.add(tokenIds(item, "[" + i + "]"));
            }
        } else {
            throw ApiException.invalid(FIELD, "'prompt' must be a string, an array of strings, an array of token ids or an "
                    + "array of arrays of token ids; its first element is " + JsonFields.describe(first));
        }
        return prompts;
    }

    private static long[] encode(String text, ServedModels models, String where) {
        Tokenizer tokenizer = models.requireTokenizer(FIELD, "a text prompt");
        models.promptLimits().checkCharacters(FIELD, "prompt" + where, text.length());
        long[] ids = tokenizer.encodeWithSpecialTokens(text);
        if (ids.length == 0) {
            throw ApiException.invalid(FIELD, "prompt" + where + " is empty; give some text (or token ids)");
        }
        models.promptLimits().checkTokens(FIELD, "prompt" + where, ids.length);
        return ids;
    }

    private static long[] tokenIds(JsonNode array, String where) {
        if (array.isEmpty()) {
            throw ApiException.invalid(FIELD, "prompt" + where + " is an empty array of token ids; give at least one id");
        }
        long[] ids = new long[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToLong() || id.asLong() < 0) {
                throw ApiException.invalid(FIELD, "prompt" + where + "[" + i + "] must be a token id (an integer >= 0), got "
                        + JsonFields.describe(id));
            }
            ids[i] = id.asLong();
        }
        return ids;
    }

    private static ApiException mixed(int index, String expected, JsonNode item) {
        return ApiException.invalid(FIELD, "prompt[" + index + "] must be " + expected + " like prompt[0], got "
                + JsonFields.describe(item) + "; do not mix prompt forms in one array");
    }
}
