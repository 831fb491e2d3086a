package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The JSON pieces that every route shares: the mapper, OpenAI's error body and usage object. */
final class OpenAiJson {
    /** Thread-safe once configured; shared by every handler. */
    static final ObjectMapper MAPPER = new ObjectMapper();

    private OpenAiJson() {
    }

    /** {@code {"error": {"message", "type", "param", "code"}}}. */
    static ObjectNode error(ApiException e) {
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return body;
    }

    /** {@code {"prompt_tokens", "completion_tokens", "total_tokens"}}. */
    static ObjectNode usage(int promptTokens, int completionTokens) {
        return MAPPER.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }
}
