package dev.finetune4j.peft.train;

import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.List;
import java.util.Objects;

/**
 * One supervised fine-tuning example before tokenization: a conversation (rendered with a chat template and
 * its tools, the assistant turns trained, tool calls included) or a plain text (every token trained). Records of a file in alpaca, ShareGPT or OpenAI
 * shape become conversations through the {@code data} module's {@code Conversions.toTurns}, the one place that
 * reads record shapes and role names.
 */
public sealed interface SftExample {

    /**
     * A conversation of system, user, assistant and tool turns, with the functions the model may call. The
     * assistant turns are trained, their tool calls included; tool results, system and user turns are not.
     *
     * @param messages the turns, in order
     * @param tools    the functions the chat template shows the model; empty for none
     */
    record Chat(List<ChatMessage> messages, List<ToolDefinition> tools) implements SftExample {
        /** Copies the turns and the tools. */
        public Chat {
            messages = List.copyOf(messages);
            tools = List.copyOf(tools);
        }

        /**
         * A conversation without tools.
         *
         * @param messages the turns, in order
         */
        public Chat(List<ChatMessage> messages) {
            this(messages, List.of());
        }
    }

    /**
     * A plain text, trained on every token. It is tokenized as transformers' {@code tokenizer(text)} tokenizes it (and
     * TRL's SFT trainer a {@code text} row): with the special tokens the tokenizer adds (Llama's BOS).
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
     * A conversation with the functions the model may call, e.g.
     * {@code chat(List.of(weather), ChatMessage.user("Paris?"), ChatMessage.assistant(List.of(call)),
     * ChatMessage.tool("call_1", "{\"celsius\": 18}"), ChatMessage.assistant("18 °C."))}.
     *
     * @param tools    the functions the chat template shows the model
     * @param messages the turns, in order, tool calls and tool results included
     * @return the example
     */
    static SftExample chat(List<ToolDefinition> tools, ChatMessage... messages) {
        return new Chat(List.of(messages), tools);
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
