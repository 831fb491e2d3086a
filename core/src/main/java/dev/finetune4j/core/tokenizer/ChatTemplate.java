package dev.finetune4j.core.tokenizer;

import java.util.List;
import java.util.Locale;

/**
 * How a conversation becomes the text a model reads: a model's own Jinja template
 * ({@link JinjaChatTemplate}, what {@link HfTokenizer} loads from tokenizer_config.json or chat_template.jinja)
 * or one of the built-in formats ({@link BuiltinChatTemplate}: {@link #CHATML}, {@link #LLAMA3}, {@link #ALPACA},
 * {@link #SIMPLE}), rendered in Java.
 *
 * <pre>{@code
 * String prompt = ChatTemplate.named("chatml").render(List.of(ChatMessage.user("hi")), true);
 * }</pre>
 *
 * <p>Thread safety: implementations are immutable.
 */
public sealed interface ChatTemplate permits BuiltinChatTemplate, JinjaChatTemplate {
    /** Qwen's ChatML: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    BuiltinChatTemplate CHATML = BuiltinChatTemplate.CHATML;
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
    BuiltinChatTemplate LLAMA3 = BuiltinChatTemplate.LLAMA3;
    /** Alpaca's "### Instruction / ### Response" blocks. */
    BuiltinChatTemplate ALPACA = BuiltinChatTemplate.ALPACA;
    /** Plain "Role: content" lines, for byte-level demo models. */
    BuiltinChatTemplate SIMPLE = BuiltinChatTemplate.SIMPLE;

    /**
     * The built-in template named {@code name} (case-insensitive), or an exception listing the names.
     *
     * @param name a template's name, e.g. {@code chatml}
     * @return the template
     */
    static BuiltinChatTemplate named(String name) {
        try {
            return BuiltinChatTemplate.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown chat template '" + name + "'; built-in: chatml, llama3, alpaca, simple");
        }
    }

    /**
     * The conversation as text, as Hugging Face's {@code apply_chat_template(messages, tokenize=False,
     * add_generation_prompt=...)}; with {@code addGenerationPrompt} it ends where the assistant's answer starts.
     *
     * @param messages the conversation's turns, in order
     * @param addGenerationPrompt true to end with the opening of an assistant turn
     * @return the rendered conversation
     * @throws dev.finetune4j.core.tokenizer.jinja.TemplateException when a model's template refuses the
     *                                                               conversation or fails on it
     */
    default String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, List.of(), addGenerationPrompt);
    }

    /**
     * The conversation as text with the functions the model may call, as Hugging Face's
     * {@code apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=...)}: a model's own
     * template decides how tools, tool calls and tool results read; the built-in formats have none and refuse them.
     *
     * @param messages the conversation's turns, in order, tool calls and tool results included
     * @param tools the functions the model may call; empty for none (the template then sees {@code tools} as none)
     * @param addGenerationPrompt true to end with the opening of an assistant turn
     * @return the rendered conversation
     * @throws dev.finetune4j.core.tokenizer.jinja.TemplateException when a model's template refuses the
     *                                                               conversation or fails on it
     * @throws IllegalArgumentException when a built-in format is given tools, tool calls, tool turns or a reasoning
     *                                  trace (which it has no place for)
     */
    String render(List<ChatMessage> messages, List<ToolDefinition> tools, boolean addGenerationPrompt);

    /**
     * A name for messages: the built-in's name, or where a Jinja template came from.
     *
     * @return the name
     */
    String name();
}
