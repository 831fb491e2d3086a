package dev.finetune4j.core.tokenizer;

import java.util.List;
import java.util.Locale;

/**
 * The built-in chat formats, rendered in Java; use one for a model whose own template does not fit (or a
 * model without one) with {@code SftFormat.withTemplate} or {@code ByteLevelTokenizer(ChatTemplate)}.
 *
 * <p>What each renders, for a system and a user message with a generation prompt:
 * <pre>
 * CHATML  &lt;|im_start|&gt;system\nS&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\nU&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
 * LLAMA3  &lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;system&lt;|end_header_id|&gt;\n\nS&lt;|eot_id|&gt;...&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n
 * ALPACA  S\n\n### Instruction:\nU\n\n### Response:\n
 * SIMPLE  System: S\nUser: U\nAssistant: 
 * </pre>
 * NOTE: unlike Qwen2.5's own template, CHATML adds no default system prompt; load the model's tokenizer
 * ({@link HfTokenizer}) to get its exact format.
 *
 * <p>Thread safety: immutable.
 */
public enum BuiltinChatTemplate implements ChatTemplate {
    /** Qwen's ChatML: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    CHATML,
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
    LLAMA3,
    /** Alpaca's "### Instruction / ### Response" blocks. */
    ALPACA,
    /** Plain "Role: content" lines, for byte-level demo models. */
    SIMPLE;

    @Override
    public String render(List<ChatMessage> messages, List<ToolDefinition> tools, boolean addGenerationPrompt) {
        if (!tools.isEmpty() || messages.stream().anyMatch(m -> m.hasToolCalls() || m.role().equals("tool"))) {
            throw new IllegalArgumentException("the built-in chat format " + name().toLowerCase(Locale.ROOT)
                    + " has no way to write tools, tool calls or tool results; use a model whose own chat template "
                    + "does (Qwen2.5, Qwen3, Llama 3.1, Mistral v0.3 and others ship one in tokenizer_config.json)");
        }
        for (int i = 0; i < messages.size(); i++) {
            // an empty trace has nothing to lose; any other would vanish from the text the model is trained on
            if (messages.get(i).hasReasoning() && !messages.get(i).reasoning().isEmpty()) {
                throw new IllegalArgumentException("the built-in chat format " + name().toLowerCase(Locale.ROOT)
                        + " has no place for a reasoning trace, and turn " + i + " carries one; use the reasoning "
                        + "model's own chat template (gpt-oss, Qwen3 and others ship one in tokenizer_config.json), "
                        + "put the trace into content in the model's own markup (e.g. <think>...</think>), or drop it");
            }
        }
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
     * The text that opens an assistant turn.
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
