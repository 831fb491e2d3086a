package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.OutputConstraint;
import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonOutput;
import dev.finetune4j.core.generate.json.JsonResponseFormat;
import dev.finetune4j.core.generate.json.JsonSchemaException;
import dev.finetune4j.core.generate.json.TokenBytes;
import dev.finetune4j.core.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * OpenAI's {@code response_format} for the served model: {@code json_object} and {@code json_schema} become a
 * {@link JsonOutput} constraint on the generation. The tokenizer's token bytes are read (and their mask index built)
 * by the first request that asks for JSON, so servers whose clients never do pay nothing; compiled grammars are kept
 * by the text of their {@code response_format}, the most recent {@value #CACHED_GRAMMARS}, since clients send the
 * same schema again and again.
 *
 * <p>Thread safety: safe for concurrent requests.
 */
final class ResponseFormats {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseFormats.class);
    private static final String FIELD = "response_format";
    private static final int CACHED_GRAMMARS = 64;

    private final Tokenizer tokenizer;
    private final Map<String, JsonGrammar> grammars = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JsonGrammar> eldest) {
            return size() > CACHED_GRAMMARS;
        }
    };
    private TokenBytes vocab; // guarded by this

    /** @param tokenizer the model's tokenizer, or null (then JSON requests are refused) */
    ResponseFormats(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
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
        return grammar.map(g -> new JsonOutput(g, vocab())).orElse(null);
    }

    private Optional<JsonGrammar> grammar(JsonNode format) {
        if (format == null || format.isNull() || "text".equals(format.path("type").asText())) {
            return Optional.empty();
        }
        String key = format.toString();
        synchronized (this) {
            JsonGrammar cached = grammars.get(key);
            if (cached != null) {
                return Optional.of(cached);
            }
        }
        Optional<JsonGrammar> compiled;
        try {
            compiled = JsonResponseFormat.grammar(format);
        } catch (JsonSchemaException e) {
            throw ApiException.invalid(FIELD, "response_format: " + e.getMessage());
        }
        compiled.ifPresent(g -> {
            synchronized (this) {
                grammars.put(key, g);
            }
        });
        return compiled;
    }

    private synchronized TokenBytes vocab() {
        if (vocab == null) {
            if (tokenizer == null) {
                throw ApiException.invalid(FIELD, "JSON output needs the model's tokenizer to know what its tokens spell, "
                        + "and this server's model has none (no tokenizer.json in its folder)");
            }
            try {
                long start = System.nanoTime();
                vocab = TokenBytes.of(tokenizer).prepared();
                LOG.info("JSON mode: read {} tokens' bytes in {} ms", vocab.size(), (System.nanoTime() - start) / 1_000_000);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid(FIELD, "JSON output is unavailable for this model's tokenizer: " + e.getMessage());
            }
        }
        return vocab;
    }
}
