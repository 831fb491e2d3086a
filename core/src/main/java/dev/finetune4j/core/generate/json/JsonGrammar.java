package dev.finetune4j.core.generate.json;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;

/**
 * A compiled JSON grammar for constrained decoding: any JSON object (OpenAI's
 * {@code response_format: {"type": "json_object"}}) or the values a JSON Schema allows
 * ({@code {"type": "json_schema", ...}}). Byte-level: it checks UTF-8 output one byte at a time, so it works with any
 * tokenizer through {@link TokenBytes}. Pair it with a {@link JsonConstraint} per request.
 *
 * <pre>{@code
 * JsonGrammar any = JsonGrammar.anyObject();
 * JsonGrammar person = JsonGrammar.fromSchema("""
 *     {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
 *      "required": ["name", "age"], "additionalProperties": false}""", true);
 * person.matches("{\"name\": \"Ada\", \"age\": 36}");   // true
 * }</pre>
 *
 * <p><b>Schema subset.</b> {@code type} (object, array, string, number, integer, boolean, null, or a list of them),
 * {@code properties}, {@code required}, {@code additionalProperties} ({@code false}; or {@code true}/a schema on an
 * object without {@code properties}), {@code enum} and {@code const} of scalars, {@code items}, {@code minItems},
 * {@code maxItems}, {@code minLength}, {@code maxLength}, {@code anyOf}, {@code $ref} to {@code #/$defs/...},
 * {@code #/definitions/...} or any local pointer, and the annotations {@code description}, {@code title},
 * {@code default}, {@code examples}, {@code $comment}, {@code $schema}, which are ignored. Every other keyword
 * ({@code pattern}, {@code format}, {@code oneOf}, {@code allOf}, {@code minimum}, ...) is refused with a
 * {@link JsonSchemaException} naming its pointer; nothing is silently ignored, unless the caller asks to skip the
 * keywords that only narrow values ({@link ValueAssertions#SKIP}).
 *
 * <p><b>What the output looks like.</b> Properties come in schema order; an optional one (not in {@code required})
 * may be left out; an object with {@code properties} gets no other keys (as xgrammar and OpenAI's strict mode). An
 * object schema with neither {@code properties} nor {@code additionalProperties} allows any object. Property names
 * and enum strings are written exactly as Jackson writes them (no optional escapes). A {@code \\u} escape of a high
 * surrogate must be followed by one of a low surrogate, so strings always hold valid Unicode.
 *
 * <p><b>Whitespace.</b> JSON allows any amount of whitespace between tokens, and masked models are known to loop on
 * it until they run out of tokens (outlines #691 and #839, ollama #2605, vLLM #26362). Following llama.cpp's JSON
 * grammar ({@code ws ::= | " " | "\n" [ \t]{0,20}}, PR #7866), a run of whitespace between tokens holds at most one
 * line break ({@code \n} or {@code \r\n}) and at most {@value #MAX_WHITESPACE_SPACES} spaces or tabs, enough for
 * compact, spaced and indented output up to eight levels of four spaces; no whitespace follows the complete value,
 * so end of output comes right after it.
 *
 * <p><b>Limits.</b> Objects and arrays nest at most {@code maxDepth} deep ({@value #DEFAULT_MAX_DEPTH} by default);
 * a recursive schema is bounded by it, and a value is started only when it can still be completed within it.
 * A number's integer part and fraction hold at most 16 digits each and its exponent 3 (as a double's), since a
 * masked model can otherwise repeat a digit until it runs out of tokens. Schemas are refused past 64 nested
 * subschemas or 10,000 subschemas and enum values.
 *
 * <p>Immutable and thread-safe: compile once, share across requests.
 */
public final class JsonGrammar {
    /**
     * What a schema compile does with keywords that only narrow the values of a type the grammar writes:
     * {@code minimum}, {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum}, {@code multipleOf},
     * {@code pattern}, {@code format}, {@code uniqueItems}, {@code minProperties}, {@code maxProperties},
     * {@code contentEncoding}, {@code contentMediaType}.
     */
    public enum ValueAssertions {
        /** Refuse them with a {@link JsonSchemaException}, as for every unsupported keyword (the default). */
        REFUSE,
        /**
         * Compile the schema without them: the output has the schema's shape (types, properties, enums, array sizes)
         * but these assertions are <em>not enforced</em>, so check such values after generation. For schemas written
         * for something else, such as the parameters of the tools a model may call, which often carry them.
         * Structural keywords the grammar cannot honour ({@code oneOf}, {@code allOf}, {@code not},
         * {@code patternProperties}, ...) are still refused.
         */
        SKIP
    }

    /** The default limit on nested objects and arrays. */
    public static final int DEFAULT_MAX_DEPTH = 32;
    /** The most spaces and tabs in one run of whitespace between tokens. */
    public static final int MAX_WHITESPACE_SPACES = 32;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final GrammarNode root;
    private final int maxDepth;
    private final Frames frames;

    JsonGrammar(GrammarNode root, int maxDepth) {
        if (maxDepth < 1 || maxDepth > 1000) {
            throw new IllegalArgumentException("maxDepth is " + maxDepth + "; it must be in [1, 1000] (the top-level "
                    + "object counts as 1; " + DEFAULT_MAX_DEPTH + " is the default)");
        }
        this.root = root;
        this.maxDepth = maxDepth;
        this.frames = new Frames(this);
    }

    /**
     * Any JSON object at the top level, with any values inside, nested at most {@value #DEFAULT_MAX_DEPTH} deep.
     *
     * @return the grammar of OpenAI's {@code json_object} response format
     */
    public static JsonGrammar anyObject() {
        return anyObject(DEFAULT_MAX_DEPTH);
    }

    /**
     * Any JSON object at the top level, nested at most {@code maxDepth} deep (the top-level object counts as 1).
     *
     * @param maxDepth the most nested objects and arrays, in [1, 1000]
     * @return the grammar
     */
    public static JsonGrammar anyObject(int maxDepth) {
        return new JsonGrammar(SchemaCompiler.anyObject(), maxDepth);
    }

    /**
     * Compiles a JSON Schema with the default depth limit.
     *
     * @param schema the schema (the {@code schema} member of OpenAI's {@code json_schema})
     * @param strict true for OpenAI's {@code strict: true}: every object must list all its properties in
     *               {@code required} and set {@code additionalProperties: false}
     * @return the grammar
     * @throws JsonSchemaException naming the pointer of what is not supported
     */
    public static JsonGrammar fromSchema(JsonNode schema, boolean strict) {
        return fromSchema(schema, strict, DEFAULT_MAX_DEPTH);
    }

    /**
     * Compiles a JSON Schema.
     *
     * @param schema   the schema
     * @param strict   true for OpenAI's strict mode (see {@link #fromSchema(JsonNode, boolean)})
     * @param maxDepth the most nested objects and arrays, in [1, 1000]
     * @return the grammar
     * @throws JsonSchemaException naming the pointer of what is not supported
     */
    public static JsonGrammar fromSchema(JsonNode schema, boolean strict, int maxDepth) {
        GrammarNode root = new SchemaCompiler(schema, strict).compile(maxDepth);
        return new JsonGrammar(root, maxDepth);
    }

    /**
     * Compiles a JSON Schema with the default depth limit, choosing what happens to value assertions.
     *
     * @param schema     the schema
     * @param strict     true for OpenAI's strict mode (see {@link #fromSchema(JsonNode, boolean)})
     * @param assertions {@link ValueAssertions#SKIP} to compile the schema's shape without enforcing them
     * @return the grammar
     * @throws JsonSchemaException naming the pointer of what is not supported
     */
    public static JsonGrammar fromSchema(JsonNode schema, boolean strict, ValueAssertions assertions) {
        GrammarNode root = new SchemaCompiler(schema, strict, assertions).compile(DEFAULT_MAX_DEPTH);
        return new JsonGrammar(root, DEFAULT_MAX_DEPTH);
    }

    /**
     * Parses and compiles a JSON Schema given as text.
     *
     * @param schemaJson the schema as JSON text
     * @param strict     true for OpenAI's strict mode
     * @return the grammar
     * @throws JsonSchemaException when the text is not JSON or the schema is not supported
     */
    public static JsonGrammar fromSchema(String schemaJson, boolean strict) {
        return fromSchema(schemaJson, strict, DEFAULT_MAX_DEPTH);
    }

    /**
     * Parses and compiles a JSON Schema given as text.
     *
     * @param schemaJson the schema as JSON text
     * @param strict     true for OpenAI's strict mode
     * @param maxDepth   the most nested objects and arrays, in [1, 1000]
     * @return the grammar
     * @throws JsonSchemaException when the text is not JSON or the schema is not supported
     */
    public static JsonGrammar fromSchema(String schemaJson, boolean strict, int maxDepth) {
        JsonNode schema;
        try {
            schema = JSON.readTree(schemaJson);
        } catch (JacksonException e) {
            throw new JsonSchemaException("", "the schema is not valid JSON: " + e.getOriginalMessage());
        }
        return fromSchema(schema, strict, maxDepth);
    }

    /**
     * Whether {@code text} is a complete value of this grammar (whitespace rule included).
     *
     * @param text the candidate output
     * @return true when the constraint would have allowed exactly this output
     */
    public boolean matches(String text) {
        JsonState s = JsonState.start(this).advance(text.getBytes(StandardCharsets.UTF_8));
        return s != null && s.isComplete();
    }

    /**
     * The limit on nested objects and arrays.
     *
     * @return the most nested objects and arrays
     */
    public int maxDepth() {
        return maxDepth;
    }

    GrammarNode root() {
        return root;
    }

    Frames frames() {
        return frames;
    }
}
