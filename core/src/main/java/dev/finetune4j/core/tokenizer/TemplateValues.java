package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as the values a Jinja template reads ({@code dev.finetune4j.core.tokenizer.jinja}'s Python model): objects as
 * maps in written order, arrays as lists, integers as {@code Long} (beyond 64 bits as {@code Double}, as the engine has
 * no big integers), other numbers as {@code Double}, null as none.
 */
final class TemplateValues {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TemplateValues() {
    }

    static Object of(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                node.properties().forEach(e -> map.put(e.getKey(), of(e.getValue())));
                yield map;
            }
            case ARRAY -> {
                List<Object> list = new ArrayList<>(node.size());
                node.forEach(item -> list.add(of(item)));
                yield list;
            }
            case STRING -> node.textValue();
            case BOOLEAN -> node.booleanValue();
            case NUMBER -> node.isIntegralNumber() && node.canConvertToLong() ? (Object) node.longValue() : (Object) node.doubleValue();
            default -> null;
        };
    }

    /** The parsed JSON text, or null when it does not parse. */
    static JsonNode parseOrNull(String text) {
        try {
            return JSON.readTree(text);
        } catch (JacksonException e) {
            return null;
        }
    }
}
