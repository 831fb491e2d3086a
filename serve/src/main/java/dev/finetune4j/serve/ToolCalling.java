package dev.finetune4j.serve;

import dev.finetune4j.core.generate.OutputConstraint;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.List;

/**
 * What a chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls} ask for
 * ({@link ToolChoices} reads them).
 *
 * @param promptTools the tools the chat template writes into the prompt
 * @param format      how calls are read out of each choice's text, or null for plain text
 * @param parallel    whether a choice may make several calls; with false, calls after the first are dropped
 * @param constraint  the output constraint that forces a call ({@code required}, a named function), or null
 */
record ToolCalling(List<ToolDefinition> promptTools, ToolCallFormat format, boolean parallel, OutputConstraint constraint) {
    /** No tools: plain text. */
    static final ToolCalling NONE = new ToolCalling(List.of(), null, true, null);

    ToolCalling {
        promptTools = List.copyOf(promptTools);
    }
}
