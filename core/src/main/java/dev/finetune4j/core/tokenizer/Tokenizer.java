package dev.finetune4j.core.tokenizer;

import java.util.Arrays;
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
     * Token ids of {@code text} as transformers' {@code tokenizer(text)} gives them, whole: with the special tokens
     * the tokenizer adds around one sequence (Llama's and Gemma's BOS; none for GPT-2's or Qwen2's). What a plain-text
     * prompt needs, as TRL's trainers and vLLM's completions endpoint tokenize it; a chat template's render writes its
     * special tokens itself and takes {@link #encode}.
     *
     * @param text the text to encode
     * @return the ids, in text order, special tokens included
     */
    default long[] encodeWithSpecialTokens(String text) {
        return encodeWithSpecialTokens(text, Integer.MAX_VALUE);
    }

    /**
     * Token ids of {@code text} as transformers' {@code tokenizer(text, truncation=True, max_length=maxLength)} gives
     * them: with the special tokens the tokenizer adds around one sequence (BERT's {@code [CLS] ... [SEP]}, Llama's
     * BOS), the text's own tokens cut at the end so that the whole row, special tokens included, fits in
     * {@code maxLength}. What a classifier reads: BERT's pooler reads position 0, which must be {@code [CLS]}.
     *
     * <p>This default adds no special tokens (as a {@code tokenizer.json} without post-processor, GPT-2's or
     * Qwen2's); {@link HfTokenizer} adds what its {@code post_processor} says.
     *
     * @param text      the text to encode
     * @param maxLength the most ids returned, more than the number of special tokens added
     * @return the ids, in text order, special tokens included
     * @throws IllegalArgumentException when {@code maxLength} leaves no room for the text after the special tokens
     */
    default long[] encodeWithSpecialTokens(String text, int maxLength) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, got " + maxLength);
        }
        long[] ids = encode(text);
        return ids.length <= maxLength ? ids : Arrays.copyOf(ids, maxLength);
    }

    /**
     * A sentence pair (NLI's premise and hypothesis, a question and a passage) as transformers'
     * {@code tokenizer(text, text_pair, truncation=True, max_length=maxLength, return_token_type_ids=True)} encodes it:
     * the special tokens of the tokenizer's pair template around both texts (BERT's {@code [CLS] A [SEP] B [SEP]},
     * RoBERTa's {@code <s> A </s></s> B </s>}) with each token's type id, the longer text cut one token at a time
     * until the whole row fits in {@code maxLength} ({@code longest_first}).
     *
     * <p>This default adds no special tokens: the texts are joined as the Rust tokenizers join a pair without a
     * template (a {@code tokenizer.json} without post-processor, GPT-2's or Qwen2's), the second text's tokens of type 1.
     *
     * @param text      the first text
     * @param pair      the second text
     * @param maxLength the most ids returned, more than the number of special tokens added
     * @return the ids and their type ids
     * @throws IllegalArgumentException when {@code maxLength} leaves no room for the texts after the special tokens
     */
    default PairEncoding encodePairWithSpecialTokens(String text, String pair, int maxLength) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be at least 1, got " + maxLength);
        }
        long[] first = encode(text);
        long[] second = encode(pair);
        int[] keep = PairTruncation.longestFirst(first.length, second.length, maxLength);
        long[] ids = Arrays.copyOf(first, keep[0] + keep[1]);
        System.arraycopy(second, 0, ids, keep[0], keep[1]);
        long[] types = new long[ids.length];
        Arrays.fill(types, keep[0], types.length, 1L);
        return new PairEncoding(ids, types);
    }

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
