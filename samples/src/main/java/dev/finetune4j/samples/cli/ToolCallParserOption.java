package dev.finetune4j.samples.cli;

import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.ChatTemplate;
import picocli.CommandLine.ITypeConverter;

/**
 * {@code --tool-call-parser auto|hermes|llama3_json|mistral|mistral_v11|granite|qwen3_coder} as given: how a model writes function calls, which
 * {@code serve} and {@code eval --tool-calls} read out of its answers. The text is checked when a command runs
 * ({@link #forced}), so that a wrong name is a bad-input error listing the names.
 *
 * @param text the option's value, e.g. {@code auto}
 */
record ToolCallParserOption(String text) {
    /** The option's description, shared by the commands that take it. */
    static final String DESCRIPTION = "How the model writes function calls, read out of its answers: auto (told from "
            + "the chat template), hermes (<tool_call> blocks: Hermes, Qwen 2.5/3, SmolLM3, Granite 4), llama3_json (Llama "
            + "3.1/3.2 JSON calls), mistral ([TOOL_CALLS] arrays), mistral_v11 ([TOOL_CALLS]name[ARGS]{...}: Mistral Small "
            + "3.1/3.2, Magistral, Devstral), granite (<|tool_call|> arrays: Granite 3), qwen3_coder (<tool_call><function=...>"
            + "<parameter=...> XML: Qwen3-Coder, Qwen3.5) (default: ${DEFAULT-VALUE}).";
    private static final String AUTO = "auto";

    /**
     * The format the option names.
     *
     * @return the format, or null for {@code auto}
     * @throws BadInputException when the text names no format
     */
    ToolCallFormat forced() {
        if (text.equals(AUTO)) {
            return null;
        }
        try {
            return ToolCallFormat.named(text);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--tool-call-parser: " + e.getMessage() + ", or " + AUTO, e);
        }
    }

    /**
     * The format the option names, or for {@code auto} the one {@code template} shows.
     *
     * @param template the model's chat template
     * @return the format
     * @throws BadInputException when the text names no format, or it is {@code auto} and the template shows none
     */
    ToolCallFormat resolve(ChatTemplate template) {
        ToolCallFormat forced = forced();
        if (forced != null) {
            return forced;
        }
        return ToolCallFormat.detect(template).orElseThrow(() -> new BadInputException("--tool-call-parser auto: the "
                + "chat template shows none of the known tool call formats, so the answers cannot be read for calls; "
                + "name the model's format with --tool-call-parser " + String.join(", ", ToolCallFormat.NAMES)));
    }

    /** Reads {@code --tool-call-parser} for picocli, keeping the text for {@link #forced}. */
    static final class Converter implements ITypeConverter<ToolCallParserOption> {
        @Override
        public ToolCallParserOption convert(String text) {
            return new ToolCallParserOption(text);
        }
    }
}
