package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.jinja.JinjaTemplate;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;

import java.time.Clock;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own chat template (the Jinja text of tokenizer_config.json's {@code chat_template} or of
 * chat_template.jinja), rendered as transformers' {@code apply_chat_template} renders it: the variables are
 * {@code messages} (maps with {@code role} and {@code content}, and {@code tool_calls} or {@code tool_call_id} where a
 * turn has them, and an assistant turn's reasoning trace under {@code thinking} (gpt-oss),
 * {@code reasoning_content} (Qwen3, GLM-4.5) and {@code tool_plan} (Command R7B, which writes a calling turn's plan
 * as its thinking) where it has one), {@code add_generation_prompt}, the special tokens that are set ({@code bos_token},
 * {@code eos_token}, {@code pad_token}, {@code unk_token}), {@code tools} (OpenAI's function entries, or none) and
 * {@code documents} as none, and the extra variables given to {@link #withVariables} (transformers' extra keyword
 * arguments to {@code apply_chat_template}). See {@link JinjaTemplate} for what the engine supports.
 *
 * <p>{@code {% generation %}} blocks render their body; Hugging Face uses them for assistant-token masks, which
 * {@code SftDataset} derives from the rendered turns instead.
 *
 * <pre>{@code
 * ChatTemplate t = JinjaChatTemplate.parse("my template", jinjaText, Map.of("bos_token", "<s>", "eos_token", "</s>"));
 * // gpt-oss: apply_chat_template(messages, reasoning_effort="high")
 * ChatTemplate high = JinjaChatTemplate.parse("gpt-oss", gptOssText, Map.of()).withVariables(Map.of("reasoning_effort", "high"));
 * }</pre>
 *
 * <p>Thread safety: immutable.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    /** The special tokens a template sees by name, as transformers passes them. */
    static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "pad_token", "unk_token");
    /** The variables {@link #render} sets from its arguments, which {@link #withVariables} cannot replace. */
    private static final List<String> RENDER_ARGUMENTS = List.of("messages", "tools", "add_generation_prompt");

    private final String name;
    private final String source;
    private final JinjaTemplate template;
    private final Map<String, String> specialTokens;
    private final Clock clock;
    private final Map<String, Object> variables;
    /** The template rendered instead when tools are given (a named set's "tool_use"), or null. */
    private final JinjaChatTemplate toolUse;

    private JinjaChatTemplate(String name, String source, JinjaTemplate template, Map<String, String> specialTokens,
                              Clock clock, Map<String, Object> variables, JinjaChatTemplate toolUse) {
        this.name = name;
        this.source = source;
        this.template = template;
        this.specialTokens = specialTokens;
        this.clock = clock;
        this.variables = variables;
        this.toolUse = toolUse;
    }

    /**
     * Parses a chat template.
     *
     * @param name where it came from, for messages (e.g. the file)
     * @param source the Jinja text
     * @param specialTokens {@code bos_token}, {@code eos_token}, {@code pad_token}, {@code unk_token}: those the
     *                      model sets (a template sees the others as undefined, as in transformers)
     * @return the template
     * @throws TemplateException naming the line, column and what was expected when the text does not parse
     * @throws IllegalArgumentException for another key in {@code specialTokens}
     */
    public static JinjaChatTemplate parse(String name, String source, Map<String, String> specialTokens) {
        for (String key : specialTokens.keySet()) {
            if (!SPECIAL_TOKENS.contains(key)) {
                throw new IllegalArgumentException("unknown special token '" + key + "'; use " + SPECIAL_TOKENS);
            }
        }
        return new JinjaChatTemplate(name, source, JinjaTemplate.parse(source), Map.copyOf(specialTokens),
                Clock.systemDefaultZone(), Map.of(), null);
    }

    /**
     * This template with another one rendered instead whenever tools are given, as transformers picks from a
     * tokenizer_config.json's named set of templates: its {@code tool_use} entry when {@code apply_chat_template} gets
     * tools, else its {@code default} one (Cohere's Command R, R+ and R7B ship both).
     *
     * @param toolUse the template for conversations with tools; its clock and variables are replaced by this one's
     * @return a copy that renders {@code toolUse} when tools are given
     */
    public JinjaChatTemplate withToolUse(JinjaChatTemplate toolUse) {
        return new JinjaChatTemplate(name, source, template, specialTokens, clock, variables,
                toolUse.withClock(clock).withVariables(variables));
    }

    /**
     * This template with {@code strftime_now} formatting {@code clock}'s time (e.g. a fixed date, for
     * reproducible training data from templates that print today's date).
     *
     * @param clock the time and zone
     * @return a copy that uses {@code clock}
     */
    public JinjaChatTemplate withClock(Clock clock) {
        return new JinjaChatTemplate(name, source, template, specialTokens, clock, variables,
                toolUse == null ? null : toolUse.withClock(clock));
    }

    /**
     * This template with more variables for the template to read, as transformers passes the extra keyword arguments
     * of {@code apply_chat_template}: e.g. gpt-oss's {@code reasoning_effort}, {@code model_identity} and
     * {@code builtin_tools}, SmolLM3's {@code enable_thinking}, {@code xml_tools} and {@code python_tools}, Granite's
     * {@code documents}, {@code controls} and {@code thinking}. A template sees a name it is not given as undefined.
     *
     * @param variables names and values: null, booleans, numbers, strings, and lists and maps of those (a render
     *                  refuses other values, naming the path); copied
     * @return a copy that passes these variables, in place of those of an earlier call
     * @throws IllegalArgumentException for {@code messages}, {@code tools} or {@code add_generation_prompt} (which
     *                                  {@link #render} sets) or a special token's name (which {@link #parse} sets)
     */
    public JinjaChatTemplate withVariables(Map<String, ?> variables) {
        for (String key : variables.keySet()) {
            if (RENDER_ARGUMENTS.contains(key) || SPECIAL_TOKENS.contains(key)) {
                throw new IllegalArgumentException("template variable '" + key + "' is set by "
                        + (SPECIAL_TOKENS.contains(key) ? "parse's special tokens" : "render's arguments")
                        + "; pass it there instead");
            }
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> copy = (Map<String, Object>) copyOf(variables);
        return new JinjaChatTemplate(name, source, template, specialTokens, clock, copy,
                toolUse == null ? null : toolUse.withVariables(variables));
    }

    /** A deep, unmodifiable copy of lists and maps (which may hold null, as JSON does), so this stays immutable. */
    private static Object copyOf(Object value) {
        return switch (value) {
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                m.forEach((key, item) -> out.put(key, copyOf(item)));
                yield Collections.unmodifiableMap(out);
            }
            case Collection<?> c -> c.stream().map(JinjaChatTemplate::copyOf).toList();
            case null, default -> value;
        };
    }

    @Override
    public String render(List<ChatMessage> messages, List<ToolDefinition> tools, boolean addGenerationPrompt) {
        if (toolUse != null && !tools.isEmpty()) {
            return toolUse.render(messages, tools, addGenerationPrompt);
        }
        Map<String, Object> context = new HashMap<>(specialTokens);
        context.put("messages", messages.stream().map(JinjaChatTemplate::turn).toList());
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("tools", tools.isEmpty() ? null : tools.stream().map(JinjaChatTemplate::tool).toList());
        context.put("documents", null);
        context.putAll(variables);
        return template.render(context, clock);
    }

    /**
     * A turn as transformers' callers pass it: {@code role} and {@code content}, then the reasoning trace,
     * {@code tool_calls} and {@code tool_call_id} only when present, since templates test for the keys themselves
     * ({@code 'tool_calls' in message}, {@code message.reasoning_content is defined}). The trace goes under each key
     * that templates read, as no template found reads two of them.
     */
    private static Map<String, Object> turn(ChatMessage m) {
        Map<String, Object> turn = new LinkedHashMap<>();
        turn.put("role", m.role());
        turn.put("content", m.content());
        if (m.hasReasoning()) {
            turn.put("thinking", m.reasoning());
            turn.put("reasoning_content", m.reasoning());
            turn.put("tool_plan", m.reasoning());
        }
        if (m.hasToolCalls()) {
            turn.put("tool_calls", m.toolCalls().stream().map(JinjaChatTemplate::call).toList());
        }
        if (m.toolCallId() != null) {
            turn.put("tool_call_id", m.toolCallId());
        }
        return turn;
    }

    /** {@code {"id"?, "type": "function", "function": {"name", "arguments": {...}}}}, arguments as an object. */
    private static Map<String, Object> call(ToolCall c) {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", c.name());
        function.put("arguments", argumentsValue(c.arguments()));
        Map<String, Object> call = new LinkedHashMap<>();
        if (c.id() != null) {
            call.put("id", c.id());
        }
        call.put("type", "function");
        call.put("function", function);
        return call;
    }

    /** {@code {"type": "function", "function": {"name", "description"?, "parameters"?}}}. */
    private static Map<String, Object> tool(ToolDefinition t) {
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", t.name());
        if (t.description() != null) {
            function.put("description", t.description());
        }
        if (t.parameters() != null) {
            function.put("parameters", TemplateValues.of(t.parametersSchema()));
        }
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        return tool;
    }

    /** The arguments as a JSON object, or the text itself when it is not one (a model's malformed call). */
    private static Object argumentsValue(String arguments) {
        JsonNode parsed = TemplateValues.parseOrNull(arguments);
        return parsed != null && parsed.isObject() ? TemplateValues.of(parsed) : arguments;
    }

    /**
     * The Jinja text this template was parsed from, e.g. for telling which tool call format the model writes.
     *
     * @return the template's source
     */
    public String source() {
        return source;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
