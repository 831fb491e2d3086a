package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ChatMessage;
import dev.finetune4j.core.tokenizer.Tokenizer;
import dev.finetune4j.core.tokenizer.ToolDefinition;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;

import java.util.List;

/**
 * The {@code messages} of {@code /v1/chat/completions}, read by core's {@link ChatJson} (the one reader of OpenAI's
 * chat JSON): roles system (and OpenAI's newer name for it, developer), user, assistant (with {@code tool_calls})
 * and tool (with {@code tool_call_id}); content as a string or as an array of text parts. Images and audio are
 * refused with a message, since the models served here read text only.
 */
final class ChatMessages {
    private static final String FIELD = "messages";

    private ChatMessages() {
    }

    /**
     * The conversation's token ids through the tokenizer's chat template, with the tools the model may call, ending
     * with the assistant's turn opened.
     *
     * @param tools the functions the template writes into the prompt; empty for none
     * @throws ApiException 400 when the model has no tokenizer, when {@code messages} is missing, empty, or holds a
     *                      role or content this server cannot format, or when the formatted conversation is longer
     *                      than a prompt can be ({@link PromptLimits}), which is checked before it is tokenized, or
     *                      when the model's chat template refuses the conversation or the tools
     */
    static long[] prompt(JsonNode body, ServedModels models, List<ToolDefinition> tools) {
        Tokenizer tokenizer = models.requireTokenizer(FIELD, "chat");
        List<ChatMessage> conversation = parse(body);
        // rendered once, measured, then encoded: what encodeChat does, with the check between the two steps
        String text;
        try {
            text = tokenizer.applyChatTemplate(conversation, tools, true);
        } catch (TemplateException e) {
            // the model's own template refuses it (Mistral's alternating roles, Gemma's system turn): the client's to fix
            throw ApiException.invalid(FIELD, "the model's chat template refused the conversation: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            // a built-in format (the model has no template of its own) cannot write tools, tool calls or tool turns
            throw ApiException.invalid(tools.isEmpty() ? FIELD : "tools", e.getMessage() + "; serve a model whose "
                    + "tokenizer_config.json has a chat template that writes tools");
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
        try {
            return ChatJson.messages(messages, FIELD);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(FIELD, e.getMessage());
        }
    }
}
