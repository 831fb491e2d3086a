package dev.finetune4j.samples.cli;

import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import dev.finetune4j.data.record.Conversions;
import dev.finetune4j.data.record.Schema;
import dev.finetune4j.peft.train.SftExample;

import java.util.Map;

/**
 * The one reader of the CLI's conversation rows ({@code train}'s SFT data, {@code eval --tool-calls}' held-out
 * conversations): OpenAI {@code messages} with optional {@code tools}, or ShareGPT {@code conversations}, read by
 * {@code data}'s shape reader into core's chat types.
 */
final class ConversationRow {
    private ConversationRow() {
    }

    /** Whether a JSON line is a conversation: OpenAI messages or ShareGPT conversations. */
    static boolean isConversation(Map<String, Object> object) {
        return Schema.detect(object).filter(s -> s == Schema.OPENAI || s == Schema.SHAREGPT).isPresent();
    }

    /**
     * A conversation row's turns and tools.
     *
     * @throws IllegalArgumentException naming what in the row is wrong (no line: the caller knows it)
     */
    static SftExample.Chat read(Map<String, Object> object) {
        return new SftExample.Chat(Conversions.toTurns(object).stream().map(ConversationRow::message).toList(),
                Conversions.tools(object).stream()
                        .map(t -> new ToolDefinition(t.name(), t.description(), t.parameters())).toList());
    }

    private static ChatMessage message(Conversions.Turn t) {
        ChatMessage message = new ChatMessage(t.role(), t.content(),
                t.toolCalls().stream().map(c -> new ToolCall(c.id(), c.name(), c.arguments())).toList(), t.toolCallId());
        return t.reasoning() == null ? message : message.withReasoning(t.reasoning());
    }
}
