package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatMessage;

import java.util.List;
import java.util.Objects;

/**
 * One supervised fine-tuning example before tokenization: a conversation (rendered with a chat template, the
 * assistant turns trained) or a plain text (every token trained). Records of a file in alpaca, ShareGPT or OpenAI
 * shape become conversations through the {@code data} module's {@code Conversions.toTurns}, the one place that
 * reads record shapes and role names.
 */
public sealed interface SftExample {

    /**
     * A conversation of system, user and assistant turns.
     *
     * @param messages the turns, in order
     */
    record Chat(List<ChatMessage> messages) implements SftExample {
        /** Copies the turns. */
        public Chat {
            messages = List.copyOf(messages);
        }
    }

    /**
     * A plain text, trained on every token.
     *
     * @param text the text
     */
    record Text(String text) implements SftExample {
        /** Checks that the text is present. */
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * A conversation, e.g. {@code chat(ChatMessage.user("Hi"), ChatMessage.assistant("Hello"))}.
     *
     * @param messages the turns, in order
     * @return the example
     */
    static SftExample chat(ChatMessage... messages) {
        return new Chat(List.of(messages));
    }

    /**
     * A plain text.
     *
     * @param text the text
     * @return the example
     */
    static SftExample text(String text) {
        return new Text(text);
    }
}
