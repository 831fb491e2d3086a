package dev.finetune4j.core.tokenizer;

import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Built-in chat formats, rendered in Java (no Jinja engine). A tokenizer_config.json {@code chat_template} is
 * mapped to one of these by recognising its markers ({@link #recognise}); an unknown template (Llama 2's
 * {@code [INST]}, Gemma, Mistral's) falls back to {@link #CHATML} with a logged warning, so fine-tune such
 * models with an explicit template or with data already formatted as text.
 *
 * <p>What each renders, for a system and a user message with a generation prompt:
 * <pre>
 * CHATML  &lt;|im_start|&gt;system\nS&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\nU&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
 * LLAMA3  &lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;system&lt;|end_header_id|&gt;\n\nS&lt;|eot_id|&gt;...&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n
 * ALPACA  S\n\n### Instruction:\nU\n\n### Response:\n
 * SIMPLE  System: S\nUser: U\nAssistant: 
 * </pre>
 * NOTE: Qwen2.5's own template adds a default system prompt when the conversation has none; this one does
 * not (Qwen3's does not either), so pass the system message explicitly to reproduce Qwen2.5's prompts.
 *
 * <p>Thread safety: immutable.
 */
public enum ChatTemplate {
    /** Qwen's ChatML: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    CHATML,
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
    LLAMA3,
    /** Alpaca's "### Instruction / ### Response" blocks. */
    ALPACA,
    /** Plain "Role: content" lines, for byte-level demo models. */
    SIMPLE;

    /**
     * The template named {@code name} (case-insensitive), or an exception listing the names.
     *
     * @param name a template's name, e.g. {@code chatml}
     * @return the template
     */
    public static ChatTemplate named(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown chat template '" + name + "'; built-in: chatml, llama3, alpaca, simple");
        }
    }

    /**
     * Maps a Jinja chat template text from tokenizer_config.json to a built-in template.
     *
     * @param jinja the {@code chat_template} string
     * @return the built-in template that renders the same text
     */
    public static ChatTemplate recognise(String jinja) {
        if (jinja.contains("<|im_start|>")) {
            return CHATML;
        }
        if (jinja.contains("<|start_header_id|>")) {
            return LLAMA3;
        }
        if (jinja.contains("### Instruction")) {
            return ALPACA;
        }
        LoggerFactory.getLogger(ChatTemplate.class).warn("unrecognised chat_template in tokenizer_config.json; using chatml");
        return CHATML;
    }

    /**
     * The conversation as text; with {@code addGenerationPrompt} it ends where the assistant's answer starts.
     *
     * @param messages the conversation's turns, in order
     * @param addGenerationPrompt true to end with the opening of an assistant turn
     * @return the rendered conversation
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        if (this == LLAMA3) {
            sb.append("<|begin_of_text|>");
        }
        for (ChatMessage m : messages) {
            sb.append(turn(m));
        }
        if (addGenerationPrompt) {
            sb.append(assistantPrefix());
        }
        return sb.toString();
    }

    /**
     * The text that opens an assistant turn (completion-only loss masks everything before it).
     *
     * @return the assistant turn's opening text
     */
    public String assistantPrefix() {
        return switch (this) {
            case CHATML -> "<|im_start|>assistant\n";
            case LLAMA3 -> "<|start_header_id|>assistant<|end_header_id|>\n\n";
            case ALPACA -> "### Response:\n";
            case SIMPLE -> "Assistant: ";
        };
    }

    private String turn(ChatMessage m) {
        return switch (this) {
            case CHATML -> "<|im_start|>" + m.role() + "\n" + m.content() + "<|im_end|>\n";
            case LLAMA3 -> "<|start_header_id|>" + m.role() + "<|end_header_id|>\n\n" + m.content() + "<|eot_id|>";
            case ALPACA -> switch (m.role()) {
                case "system" -> m.content() + "\n\n";
                case "user" -> "### Instruction:\n" + m.content() + "\n\n";
                default -> "### Response:\n" + m.content() + "\n\n";
            };
            case SIMPLE -> switch (m.role()) {
                case "system" -> "System: " + m.content() + "\n";
                case "user" -> "User: " + m.content() + "\n";
                default -> "Assistant: " + m.content() + "\n";
            };
        };
    }
}
