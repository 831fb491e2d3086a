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

    /** Token ids of {@code text}, without special tokens. */
    long[] encode(String text);

    /** Text of {@code ids}; special tokens are skipped. */
    String decode(long[] ids);

    /** Number of ids the model's embedding must cover. */
    int vocabSize();

    /** Beginning-of-sequence id, when the tokenizer has one. */
    OptionalLong bosTokenId();

    /** End-of-sequence id, when the tokenizer has one. */
    OptionalLong eosTokenId();

    /** Padding id, when the tokenizer has one. */
    OptionalLong padTokenId();

    /** The chat template to format conversations with (the tokenizer's own or a built-in default). */
    ChatTemplate chatTemplate();

    /**
     * The conversation as text in {@link #chatTemplate()}'s format, as Hugging Face's
     * {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)}.
     */
    default String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return chatTemplate().render(messages, addGenerationPrompt);
    }

    /** Renders and encodes a conversation; special-token markers in the template become their ids. */
    default long[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return encode(applyChatTemplate(messages, addGenerationPrompt));
    }
}
