package dev.finetune4j.core.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.jinja.JinjaTemplate;
import dev.finetune4j.core.tokenizer.jinja.TemplateException;

import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own chat template (the Jinja text of tokenizer_config.json's {@code chat_template} or of
 * chat_template.jinja), rendered as transformers' {@code apply_chat_template} renders it: the variables are
 * {@code messages} (maps with {@code role} and {@code content}, and {@code tool_calls} or {@code tool_call_id} where a
 * turn has them), {@code add_generation_prompt}, the special tokens that are set ({@code bos_token},
 * {@code eos_token}, {@code pad_token}, {@code unk_token}), {@code tools} (OpenAI's function entries, or none) and
 * {@code documents} as none. See {@link JinjaTemplate} for what the engine supports.
 *
 * <p>{@code {% generation %}} blocks render their body; Hugging Face uses them for assistant-token masks, which
 * {@code SftDataset} derives from the rendered turns instead.
 *
 * <pre>{@code
 * ChatTemplate t = JinjaChatTemplate.parse("my template", jinjaText, Map.of("bos_token", "<s>", "eos_token", "</s>"));
 * }</pre>
 *
 * <p>Thread safety: immutable.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    /** The special tokens a template sees by name, as transformers passes them. */
    static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "pad_token", "unk_token");

    private final String name;
    private final String source;
    private final JinjaTemplate template;
    private final Map<String, String> specialTokens;
    private final Clock clock;

    private JinjaChatTemplate(String name, String source, JinjaTemplate template, Map<String, String> specialTokens,
                              Clock clock) {
        this.name = name;
        this.source = source;
        this.template = template;
        this.specialTokens = specialTokens;
        this.clock = clock;
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
                Clock.systemDefaultZone());
    }

    /**
     * This template with {@code strftime_now} formatting {@code clock}'s time (e.g. a fixed date, for
     * reproducible training data from templates that print today's date).
     *
     * @param clock the time and zone
     * @return a copy that uses {@code clock}
     */
    public JinjaChatTemplate withClock(Clock clock) {
        return new JinjaChatTemplate(name, source, template, specialTokens, clock);
    }

    @Override
    public String render(List<ChatMessage> messages, List<ToolDefinition> tools, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        context.put("messages", messages.stream().map(JinjaChatTemplate::turn).toList());
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("tools", tools.isEmpty() ? null : tools.stream().map(JinjaChatTemplate::tool).toList());
        context.put("documents", null);
        return template.render(context, clock);
    }

    /**
     * A turn as transformers' callers pass it: {@code role} and {@code content}, then {@code tool_calls} and
     * {@code tool_call_id} only when present, since templates test for the keys themselves
     * ({@code 'tool_calls' in message}).
     */
    private static Map<String, Object> turn(ChatMessage m) {
        Map<String, Object> turn = new LinkedHashMap<>();
        turn.put("role", m.role());
        turn.put("content", m.content());
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
