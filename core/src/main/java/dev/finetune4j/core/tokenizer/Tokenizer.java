package dev.finetune4j.core.tokenizer;

import java.util.List;
import java.util.OptionalLong;

/**
 * Text to token ids and back. Implementations are thread-safe.
 *
 * <pre>{@code
 * Tokenizer tok = new ByteLevelTokenizer();
 * long[] ids = tok.encode("你好, world");
 * String text = tok.decode(ids);
 * }</pre>
 */
public interface Tokenizer {

    /**
     * Token ids of {@code text}, without special tokens.
     *
     * @param text the text to encode
     * @return the ids, in text order
     */
    long[] encode(String text);

    /**
     * Text of {@code ids}; special tokens are skipped.
     *
     * @param ids token ids, each in [0, vocabSize)
     * @return the decoded text
     */
    String decode(long[] ids);

    /**
     * Number of ids the model's embedding must cover.
     *
     * @return the vocabulary size, at least every id the tokenizer produces plus one
     */
    int vocabSize();

    /**
     * Beginning-of-sequence id, when the tokenizer has one.
     *
     * @return the BOS id, or empty
     */
    OptionalLong bosTokenId();

    /**
     * End-of-sequence id, when the tokenizer has one.
     *
     * @return the EOS id, or empty
     */
    OptionalLong eosTokenId();

    /**
     * Padding id, when the tokenizer has one.
     *
     * @return the padding id, or empty
     */
    OptionalLong padTokenId();

    /**
     * The chat template to format conversations with (the tokenizer's own or a built-in default).
     *
     * @return the chat template, never null
     */
    ChatTemplate chatTemplate();

    /**
     * The conversation as text in {@link #chatTemplate()}'s format, as Hugging Face's
     * {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)}.
     *
     * @param messages the conversation's turns, in order
     * @param addGenerationPrompt true to end with the opening of an assistant turn, for generation
     * @return the rendered conversation
     */
    default String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return chatTemplate().render(messages, addGenerationPrompt);
    }

    /**
     * The conversation and the functions the model may call as text in {@link #chatTemplate()}'s format, as Hugging
     * Face's {@code apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=...)}.
     *
     * @param messages the conversation's turns, in order, tool calls and tool results included
     * @param tools the functions the model may call; empty for none
     * @param addGenerationPrompt true to end with the opening of an assistant turn, for generation
     * @return the rendered conversation
     * @throws IllegalArgumentException when the template is a built-in format, which cannot write tools
     */
    default String applyChatTemplate(List<ChatMessage> messages, List<ToolDefinition> tools, boolean addGenerationPrompt) {
        return chatTemplate().render(messages, tools, addGenerationPrompt);
    }

    /**
     * Renders and encodes a conversation; special-token markers in the template become their ids.
     *
     * @param messages the conversation's turns, in order
     * @param addGenerationPrompt true to end with the opening of an assistant turn, for generation
     * @return the token ids of the rendered conversation
     */
    default long[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return encode(applyChatTemplate(messages, addGenerationPrompt));
    }
}
