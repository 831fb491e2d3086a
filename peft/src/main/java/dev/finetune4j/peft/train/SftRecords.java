package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads one SFT record in any of the accepted shapes as a conversation or a plain text:
 * <ul>
 *   <li>alpaca: {@code instruction}, optional {@code input}, {@code output}, optional {@code system};</li>
 *   <li>ShareGPT: {@code conversations}, a list of {@code {from, value}} (from: system, human/user, gpt/assistant);</li>
 *   <li>OpenAI: {@code messages}, a list of {@code {role, content}} (role: system, user, assistant);</li>
 *   <li>plain text: {@code text}.</li>
 * </ul>
 */
final class SftRecords {
    private SftRecords() {
    }

    /** A record as read: either {@code messages} (instruction data) or {@code text} (plain), the other null. */
    record Parsed(List<ChatMessage> messages, String text) {
    }

    /** Parses record {@code index}; errors name the index, what was found and the accepted shapes. */
    static Parsed parse(Map<String, Object> record, int index) {
        if (record == null) {
            throw error(index, "is null");
        }
        if (record.containsKey("messages")) {
            return new Parsed(turns(record.get("messages"), "role", "content", index), null);
        }
        if (record.containsKey("conversations")) {
            return new Parsed(turns(record.get("conversations"), "from", "value", index), null);
        }
        if (record.containsKey("instruction")) {
            return new Parsed(alpaca(record, index), null);
        }
        if (record.containsKey("text")) {
            return new Parsed(null, string(record, "text", index));
        }
        throw error(index, "has the fields " + record.keySet() + ", none of the accepted shapes: alpaca (instruction, "
                + "input, output), ShareGPT (conversations of from/value), OpenAI (messages of role/content) or plain (text)");
    }

    private static List<ChatMessage> alpaca(Map<String, Object> record, int index) {
        String instruction = string(record, "instruction", index);
        String input = record.get("input") == null ? "" : string(record, "input", index);
        List<ChatMessage> out = new ArrayList<>();
        if (record.get("system") != null) {
            out.add(ChatMessage.system(string(record, "system", index)));
        }
        out.add(ChatMessage.user(input.isBlank() ? instruction : instruction + "\n\n" + input));
        out.add(ChatMessage.assistant(string(record, "output", index)));
        return out;
    }

    private static List<ChatMessage> turns(Object value, String roleKey, String contentKey, int index) {
        if (!(value instanceof List<?> list) || list.isEmpty()) {
            throw error(index, "needs a non-empty list of {" + roleKey + ", " + contentKey + "} objects, found " + value);
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int t = 0; t < list.size(); t++) {
            if (!(list.get(t) instanceof Map<?, ?> turn) || !(turn.get(roleKey) instanceof String role)
                    || !(turn.get(contentKey) instanceof String content)) {
                throw error(index, "turn " + t + " is not an object with string fields '" + roleKey + "' and '"
                        + contentKey + "': " + list.get(t));
            }
            out.add(new ChatMessage(role(role, index, t), content));
        }
        return out;
    }

    /** ShareGPT and OpenAI role names to system, user or assistant. */
    private static String role(String name, int index, int turn) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "system", "developer" -> "system";
            case "user", "human" -> "user";
            case "assistant", "gpt", "model", "chatgpt" -> "assistant";
            default -> throw error(index, "turn " + turn + " has the role '" + name
                    + "'; use system, user/human or assistant/gpt (tool turns are not supported)");
        };
    }

    private static String string(Map<String, Object> record, String key, int index) {
        if (!(record.get(key) instanceof String s)) {
            throw error(index, "needs a string field '" + key + "', found " + record.get(key));
        }
        return s;
    }

    private static IllegalArgumentException error(int index, String what) {
        return new IllegalArgumentException("record " + index + " " + what);
    }
}
