package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.OutputConstraint;
import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonOutput;
import dev.finetune4j.core.generate.json.JsonResponseFormat;
import dev.finetune4j.core.generate.json.JsonSchemaException;

import java.util.Optional;

/**
 * OpenAI's {@code response_format} for the served model: {@code json_object} and {@code json_schema} become a
 * {@link JsonOutput} constraint on the generation. The tokens' mask index is built by the first request that asks
 * for JSON ({@link ServedVocabulary} reads their bytes), so servers whose clients never do pay nothing; compiled
 * grammars are kept by the text of their {@code response_format} ({@link GrammarCache}).
 *
 * <p>Thread safety: safe for concurrent requests.
 */
final class ResponseFormats {
    private static final String FIELD = "response_format";

    private final ServedVocabulary vocabulary;
    private final GrammarCache grammars = new GrammarCache();

    /** @param vocabulary the served tokens' bytes (without them, JSON requests are refused) */
    ResponseFormats(ServedVocabulary vocabulary) {
        this.vocabulary = vocabulary;
    }

    /**
     * The constraint the request's {@code response_format} asks for.
     *
     * @return the constraint, or null for plain text (no field, or {@code {"type": "text"}})
     * @throws ApiException 400 naming the field and the JSON pointer of what is malformed or not supported, or when
     *                      the model has no tokenizer whose token bytes can be read
     */
    OutputConstraint constraint(JsonNode body) {
        JsonNode format = body.get(FIELD);
        Optional<JsonGrammar> grammar = grammar(format);
        // the first JSON request builds the vocabulary's mask index (about a second for 150,000 tokens) here, on its
        // own thread, rather than in the engine's decoding step
        return grammar.map(g -> new JsonOutput(g, vocabulary.require(FIELD).prepared())).orElse(null);
    }

    private Optional<JsonGrammar> grammar(JsonNode format) {
        if (format == null || format.isNull() || "text".equals(format.path("type").asText())) {
            return Optional.empty();
        }
        try {
            // a format that is present and not text always compiles to a grammar, or throws
            return Optional.of(grammars.get(format.toString(), () -> JsonResponseFormat.grammar(format).orElseThrow()));
        } catch (JsonSchemaException e) {
            throw ApiException.invalid(FIELD, "response_format: " + e.getMessage());
        }
    }
}
