package dev.finetune4j.core.generate.json;

/**
 * A JSON Schema that {@link JsonGrammar#fromSchema} cannot compile: a keyword outside the supported subset, a
 * malformed value, a {@code $ref} that points nowhere or loops, or a schema past a size limit. The message names
 * the JSON pointer of the offending keyword (RFC 6901, {@code ""} for the whole schema) and says what is supported.
 */
public final class JsonSchemaException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The JSON pointer of the refused keyword or subschema. */
    private final String pointer;

    /** What is wrong, without the pointer. */
    private final String detail;

    JsonSchemaException(String pointer, String detail) {
        super("JSON schema at " + (pointer.isEmpty() ? "the root" : "'" + pointer + "'") + ": " + detail);
        this.pointer = pointer;
        this.detail = detail;
    }

    /** The same problem seen from a document that holds the schema at {@code prefix}. */
    JsonSchemaException under(String prefix) {
        return new JsonSchemaException(prefix + pointer, detail);
    }

    /**
     * Where in the schema the problem is.
     *
     * @return the JSON pointer of the refused keyword or subschema; {@code ""} is the whole schema
     */
    public String pointer() {
        return pointer;
    }
}
