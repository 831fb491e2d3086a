package dev.finetune4j.serve;

import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;

import java.util.Locale;

/**
 * Whether {@code /v1/chat/completions} returns a reasoning model's thinking apart from its answer, as
 * {@code reasoning_content} (DeepSeek's API, vLLM's {@code --reasoning-parser deepseek_r1} and {@code qwen3}).
 * Qwen3, the DeepSeek-R1 distills and SmolLM3 in think mode write their thinking as {@code <think> ... </think>}
 * before the answer; with {@link #THINK} the text up to the first {@code </think>} becomes the message's
 * {@code reasoning_content} (streamed as {@code delta.reasoning_content}), the rest its {@code content}, and tool calls
 * are read from the content only. {@code /v1/completions} always returns the text as generated.
 *
 * <p>The rules: thinking starts when the prompt ends with {@code <think>} (the DeepSeek-R1 distill templates open it
 * in the generation prompt) or when the output starts with it, whitespace before it aside; it ends at the first
 * {@code </think>}, and an output that never writes one is all thinking (cut by {@code max_tokens}). An output that
 * opens no thinking is all content, exactly as with {@link #NONE} (Qwen3 with {@code enable_thinking} false, whose
 * template closes an empty {@code <think></think>} in the prompt). The tags and the whitespace around them are
 * dropped; the rest of the answer is content as generated. Streamed answers split exactly as whole ones. Outputs
 * constrained by {@code response_format} or a forced {@code tool_choice} are not split (they hold no thinking).
 * The tags must decode as text, as these models' do (decoding drops special tokens).
 */
public enum ReasoningParser {
    /** The answer's text as generated, thinking included, in {@code content} (the default, as in vLLM). */
    NONE,
    /** {@code <think> ... </think>} is {@code reasoning_content}, the rest {@code content}. */
    THINK,
    /** {@link #THINK} when the tokenizer's chat template mentions {@code <think>}, else {@link #NONE}. */
    AUTO;

    /**
     * A parser by name (case-insensitive), as {@code finetune4j serve --reasoning-parser} takes it.
     *
     * @param name {@code none}, {@code think} or {@code auto}
     * @return the parser
     * @throws IllegalArgumentException for another name, listing the names
     */
    public static ReasoningParser named(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown reasoning parser '" + name + "'; use one of none, think, auto", e);
        }
    }

    /**
     * This parser with {@link #AUTO} decided by {@code template}.
     *
     * @param template the tokenizer's chat template, or null when the model has no tokenizer
     * @return {@link #NONE} or {@link #THINK}
     */
    ReasoningParser resolve(ChatTemplate template) {
        if (this != AUTO) {
            return this;
        }
        boolean thinks = template instanceof JinjaChatTemplate jinja && jinja.source().contains(ReasoningSplitter.START);
        return thinks ? THINK : NONE;
    }
}
