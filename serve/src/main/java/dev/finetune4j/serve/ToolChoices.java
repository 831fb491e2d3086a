package dev.finetune4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.generate.json.JsonGrammar;
import dev.finetune4j.core.generate.json.JsonOutput;
import dev.finetune4j.core.generate.json.JsonSchemaException;
import dev.finetune4j.core.generate.tools.ToolCallFormat;
import dev.finetune4j.core.generate.tools.ToolChoiceSchemas;
import dev.finetune4j.core.tokenizer.ChatJson;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.List;
import java.util.regex.Pattern;

/**
 * OpenAI's function calling for the served model: {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}
 * read into a {@link ToolCalling}, as vLLM's OpenAI server does it.
 *
 * <ul>
 *   <li>{@code "auto"} (the default when tools are given): the tools go into the prompt through the chat template and
 *   each answer is read for calls in the model's format ({@link OpenAiServer.Builder#toolCallFormat}, else told from
 *   the chat template);</li>
 *   <li>{@code "required"}: decoding is constrained to a JSON array of {@code {"name", "parameters"}} calls of the
 *   tools (at most one without parallel calls), as vLLM's guided decoding does;</li>
 *   <li>{@code {"type": "function", "function": {"name": ...}}}: decoding is constrained to that function's arguments;</li>
 *   <li>{@code "none"} (the default without tools): the tools are left out of the prompt and nothing is read for
 *   calls. Left out rather than kept, since models trained on these templates often call a tool they are shown
 *   whatever the instruction, and that call would reach the client as markup in the content; tool calls and results
 *   already in the conversation are still rendered. vLLM offers the same as an option
 *   ({@code --exclude-tools-when-tool-choice-none}).</li>
 * </ul>
 *
 * <p>Parameter schemas are compiled with {@link JsonGrammar.ValueAssertions#SKIP}: assertions such as
 * {@code minimum} or {@code pattern} shape no output and are not enforced; keywords that change the structure and
 * that the grammar cannot honour are refused with a 400. Grammars are cached by the request's tool fields.
 *
 * <p>Thread safety: safe for concurrent requests.
 */
final class ToolChoices {
    private static final String TOOLS = "tools";
    /**
     * OpenAI's pattern for function names. Templates write a name raw into the prompt, often inside JSON (Qwen 2.5:
     * {@code "name": "{{ tool_call.name }}"}), so a quote or a newline in one would break the prompt's layout.
     */
    private static final Pattern FUNCTION_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    private static final String CHOICE = "tool_choice";

    private final ToolCallFormat format;
    private final ServedVocabulary vocabulary;
    private final GrammarCache grammars = new GrammarCache();

    /**
     * @param format     how the model writes calls, or null when unknown (then {@code "auto"} is refused)
     * @param vocabulary the served tokens' bytes, for forced calls' masks
     */
    ToolChoices(ToolCallFormat format, ServedVocabulary vocabulary) {
        this.format = format;
        this.vocabulary = vocabulary;
    }

    /**
     * Reads the request's tool fields.
     *
     * @throws ApiException 400 naming the field: malformed tools, an unknown {@code tool_choice}, one that names a
     *                      function not in {@code tools}, a choice other than none without tools, {@code "auto"} for a
     *                      model whose call format is unknown, a schema that cannot be forced
     */
    ToolCalling read(JsonNode body) {
        List<ToolDefinition> tools;
        try {
            tools = ChatJson.tools(body.get(TOOLS), TOOLS);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(TOOLS, e.getMessage());
        }
        for (int i = 0; i < tools.size(); i++) {
            if (!FUNCTION_NAME.matcher(tools.get(i).name()).matches()) {
                throw ApiException.invalid(TOOLS, "tools[" + i + "].function.name must be 1 to 64 letters, digits, '_' "
                        + "or '-' (as OpenAI requires), got " + JsonFields.describe(body.get(TOOLS).get(i).path("function")
                        .get("name")) + "; rename the function");
            }
        }
        boolean parallel = JsonFields.bool(body, "parallel_tool_calls", true);
        JsonNode choice = body.get(CHOICE);
        if (choice == null || choice.isNull()) {
            return tools.isEmpty() ? ToolCalling.NONE : auto(tools, parallel);
        }
        if (choice.isTextual() && choice.textValue().equals("none")) {
            return new ToolCalling(List.of(), null, parallel, null);
        }
        if (tools.isEmpty()) {
            throw ApiException.invalid(CHOICE, "'tool_choice' " + choice + " needs 'tools' to choose from; send the "
                    + "functions in 'tools' or leave tool_choice out");
        }
        if (choice.isTextual() && choice.textValue().equals("auto")) {
            return auto(tools, parallel);
        }
        if (choice.isTextual() && choice.textValue().equals("required")) {
            JsonGrammar grammar = grammars.get("required " + parallel + " " + body.get(TOOLS), () -> {
                for (int i = 0; i < tools.size(); i++) {
                    compile(tools.get(i), i); // each tool's own schema, so that a refusal names the tool
                }
                try {
                    return JsonGrammar.fromSchema(ToolChoiceSchemas.anyFunction(tools, parallel), false,
                            JsonGrammar.ValueAssertions.SKIP);
                } catch (JsonSchemaException e) {
                    // each tool fits alone, but the array of calls of them all is past a limit (size, depth)
                    throw ApiException.invalid(TOOLS, "the " + tools.size() + " tools together cannot be forced by "
                            + "tool_choice \"required\": " + e.getMessage() + "; send fewer or smaller tools, or "
                            + "name one function in tool_choice");
                }
            });
            return new ToolCalling(tools, ToolCallFormat.anyFunction(), parallel, constraint(grammar));
        }
        String name = choice.path("function").path("name").textValue();
        if (!choice.isObject() || !"function".equals(choice.path("type").textValue()) || name == null) {
            throw ApiException.invalid(CHOICE, "'tool_choice' must be \"none\", \"auto\", \"required\" or "
                    + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got " + JsonFields.describe(choice));
        }
        for (int i = 0; i < tools.size(); i++) {
            if (tools.get(i).name().equals(name)) {
                int index = i;
                ToolDefinition tool = tools.get(i);
                JsonGrammar grammar = grammars.get("function " + tool.parameters(), () -> compile(tool, index));
                return new ToolCalling(tools, ToolCallFormat.function(name), parallel, constraint(grammar));
            }
        }
        throw ApiException.invalid(CHOICE, "'tool_choice' names function '" + name + "', which is not in 'tools' ("
                + String.join(", ", tools.stream().map(ToolDefinition::name).toList()) + ")");
    }

    private ToolCalling auto(List<ToolDefinition> tools, boolean parallel) {
        if (format == null) {
            throw ApiException.invalid(CHOICE, "tool_choice \"auto\" needs to know how this model writes calls, and its "
                    + "chat template shows none of the known formats (" + String.join(", ", ToolCallFormat.NAMES) + "); "
                    + "start the server with --tool-call-parser (OpenAiServer.Builder.toolCallFormat), or send "
                    + "tool_choice \"required\" or a named function, which need no format");
        }
        // bound to the request's tools: a format whose arguments are text (qwen3_coder) types them by their schemas
        return new ToolCalling(tools, format.withTools(tools), parallel, null);
    }

    /** One tool's arguments grammar. */
    private static JsonGrammar compile(ToolDefinition tool, int index) {
        try {
            return JsonGrammar.fromSchema(ToolChoiceSchemas.function(tool), false, JsonGrammar.ValueAssertions.SKIP);
        } catch (JsonSchemaException e) {
            throw ApiException.invalid(TOOLS, "tools[" + index + "].function.parameters cannot be forced by tool_choice: "
                    + e.getMessage());
        }
    }

    private JsonOutput constraint(JsonGrammar grammar) {
        return new JsonOutput(grammar, vocabulary.require(CHOICE).prepared());
    }
}
