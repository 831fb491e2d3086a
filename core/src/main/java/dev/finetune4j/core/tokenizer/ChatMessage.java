package dev.finetune4j.core.tokenizer;

import java.util.Objects;

/**
 * One turn of a conversation.
 *
 * @param role    "system", "user" or "assistant"
 * @param content the text
 */
public record ChatMessage(String role, String content) {
    /** Checks that both components are present and the role is system, user or assistant. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
            throw new IllegalArgumentException("unknown chat role '" + role + "'; use system, user or assistant");
        }
    }

    /**
     * A system turn.
     *
     * @param content the system prompt
     * @return the message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /**
     * A user turn.
     *
     * @param content what the user says
     * @return the message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /**
     * An assistant turn.
     *
     * @param content the assistant's answer
     * @return the message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
