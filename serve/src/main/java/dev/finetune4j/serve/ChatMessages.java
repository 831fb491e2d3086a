package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code messages} of {@code /v1/chat/completions}: roles system (and OpenAI's newer name for it, developer),
 * user and assistant; content as a string or as an array of text parts. Images, audio and tool calls are refused
 * with a message, since the models served here read text only.
 */
final class ChatMessages {
    private static final String FIELD = "messages";

    private ChatMessages() {
    }

    /**
     * The conversation's token ids through the tokenizer's chat template, ending with the assistant's turn opened.
     *
     * @throws ApiException 400 when the model has no tokenizer, when {@code messages} is missing, empty, or holds a
     *                      role or content this server cannot format, or when the formatted conversation is longer
     *                      than a prompt can be ({@link PromptLimits}), which is checked before it is tokenized, or
     *                      when the model's chat template refuses the conversation
     */
    static long[] prompt(JsonNode body, ServedModels models) {
        Tokenizer tokenizer = models.requireTokenizer(FIELD, "chat");
        List<ChatMessage> conversation = parse(body);
        // rendered once, measured, then encoded: what encodeChat does, with the check between the two steps
        String text;
        try {
            text = tokenizer.applyChatTemplate(conversation, true);
        } catch (TemplateException e) {
            // the model's own template refuses it (Mistral's alternating roles, Gemma's system turn): the client's to fix
            throw ApiException.invalid(FIELD, "the model's chat template refused the conversation: " + e.getMessage());
        }
        models.promptLimits().checkCharacters(FIELD, "the conversation in the chat template", text.length());
        return tokenizer.encode(text);
    }

    /**
     * The conversation.
     *
     * @throws ApiException 400 when {@code messages} is missing, empty, or holds a role or content this server
     *                      cannot format
     */
    private static List<ChatMessage> parse(JsonNode body) {
        JsonNode messages = body.get(FIELD);
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid(FIELD, "'messages' must be a non-empty array of {\"role\", \"content\"} objects, got "
                    + (messages == null ? "nothing" : messages.isArray() ? "an empty array" : JsonFields.describe(messages)));
        }
        List<ChatMessage> conversation = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.isObject()) {
                throw ApiException.invalid(FIELD, "messages[" + i + "] must be an object with role and content, got "
                        + JsonFields.describe(m));
            }
            conversation.add(new ChatMessage(role(m, i), content(m, i)));
        }
        return conversation;
    }

    private static String role(JsonNode m, int i) {
        JsonNode role = m.get("role");
        String name = role != null && role.isTextual() ? role.asText() : null;
        if (name == null || !List.of("system", "developer", "user", "assistant").contains(name)) {
            throw ApiException.invalid(FIELD, "messages[" + i + "].role must be system, developer, user or assistant, got "
                    + (role == null ? "nothing" : JsonFields.describe(role)) + "; tool and function messages are not supported");
        }
        return name.equals("developer") ? "system" : name;
    }

    private static String content(JsonNode m, int i) {
        JsonNode content = m.get("content");
        if (content != null && content.isTextual()) {
            return content.asText();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int p = 0; p < content.size(); p++) {
                JsonNode part = content.get(p);
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.invalid(FIELD, "messages[" + i + "].content[" + p + "] must be {\"type\": \"text\", "
                            + "\"text\": ...}; this server's models read text only, got " + JsonFields.describe(part));
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiException.invalid(FIELD, "messages[" + i + "].content must be a string or an array of text parts, got "
                + (content == null ? "nothing" : JsonFields.describe(content)));
    }
}
