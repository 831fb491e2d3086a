package dev.finetune4j.serve;

import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.peft.serve.InferenceEngine;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What the server serves: the engine, the name clients use for its base model, the tokenizer (absent for a model
 * folder without one: then only token-id prompts work), the ids that end generation and the prompts it takes.
 *
 * @param engine        the engine
 * @param baseName      the base model's name in {@code model} fields
 * @param tokenizer     the model's tokenizer, or null
 * @param stopTokens    ids that end every generation (end of sequence)
 * @param promptLimits  how many prompts a request may carry and how long each may be
 * @param vocabulary    the bytes of the tokenizer's tokens, read when first needed
 * @param responseFormats what {@code response_format} asks of the output (JSON mode)
 * @param toolChoices   what {@code tools} and {@code tool_choice} ask (function calling)
 * @param reasoningParser whether chat answers split thinking off: {@link ReasoningParser#NONE} or
 *                        {@link ReasoningParser#THINK}
 */
record ServedModels(InferenceEngine engine, String baseName, Tokenizer tokenizer, Set<Long> stopTokens,
                    PromptLimits promptLimits, ServedVocabulary vocabulary, ResponseFormats responseFormats,
                    ToolChoices toolChoices, ReasoningParser reasoningParser) {

    ServedModels {
        stopTokens = Set.copyOf(stopTokens);
    }

    /**
     * The adapter a request's {@code model} names: null for the base model.
     *
     * @throws ApiException 404 when it names neither the base nor a loaded adapter
     */
    String adapterFor(String model) {
        if (model.equals(baseName)) {
            return null;
        }
        if (!engine.adapterNames().contains(model)) {
            throw ApiException.unknownModel("model '" + model + "' is not served; use one of " + names()
                    + " (GET /v1/models lists them; POST /admin/adapters loads an adapter)");
        }
        return model;
    }

    /** The base model's name, then the adapters' in order. */
    List<String> names() {
        List<String> names = new ArrayList<>();
        names.add(baseName);
        names.addAll(engine.adapterNames());
        return names;
    }

    /**
     * The tokenizer, for a request that sends text.
     *
     * @throws ApiException 400 when the model has none
     */
    Tokenizer requireTokenizer(String param, String what) {
        if (tokenizer == null) {
            throw ApiException.invalid(param, "this server's model has no tokenizer (no tokenizer.json in its folder), so " + what
                    + " is unavailable; send the prompt as token ids to /v1/completions, or serve a folder with tokenizer.json");
        }
        return tokenizer;
    }
}
