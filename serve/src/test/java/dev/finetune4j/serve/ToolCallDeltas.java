package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code tool_calls} deltas of a chat stream's first choice, joined as clients join them, checking the shape
 * OpenAI streams them in: a call's first delta carries its index, id, type, name and {@code ""} arguments, the next
 * ones only the index and a piece of the arguments.
 */
final class ToolCallDeltas {
    /** The joined calls, in the whole answer's {@code tool_calls} shape. */
    final List<ObjectNode> calls = new ArrayList<>();
    /** How many argument pieces each call came in. */
    final List<Integer> pieces = new ArrayList<>();

    ToolCallDeltas(List<JsonNode> chunks) {
        for (JsonNode chunk : chunks) {
            for (JsonNode delta : chunk.path("choices").path(0).path("delta").path("tool_calls")) {
                int index = delta.get("index").asInt();
                JsonNode function = delta.get("function");
                if (index == calls.size()) {
                    assertTrue(delta.get("id").asText().length() >= 9, delta.toString());
                    assertEquals("function", delta.get("type").asText(), delta.toString());
                    assertFalse(function.get("name").asText().isEmpty(), delta.toString());
                    assertEquals("", function.get("arguments").asText(), "the announcement's arguments: " + delta);
                    ObjectNode call = ServerFixture.JSON.createObjectNode().put("id", delta.get("id").asText()).put("type", "function");
                    call.putObject("function").put("name", function.get("name").asText()).put("arguments", "");
                    calls.add(call);
                    pieces.add(0);
                } else {
                    assertEquals(calls.size() - 1, index, "pieces go to the last announced call: " + delta);
                    assertEquals(List.of("index", "function"), names(delta), delta.toString());
                    assertEquals(List.of("arguments"), names(function), delta.toString());
                    ObjectNode joined = (ObjectNode) calls.get(index).get("function");
                    joined.put("arguments", joined.get("arguments").asText() + function.get("arguments").asText());
                    pieces.set(index, pieces.get(index) + 1);
                }
            }
        }
    }

    /** The content deltas of the first choice, joined. */
    static String content(List<JsonNode> chunks) {
        StringBuilder content = new StringBuilder();
        chunks.forEach(c -> content.append(c.path("choices").path(0).path("delta").path("content").asText("")));
        return content.toString();
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
