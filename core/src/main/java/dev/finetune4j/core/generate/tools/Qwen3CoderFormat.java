package dev.finetune4j.core.generate.tools;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Qwen3-Coder's and Qwen3.5's XML calls, vLLM's {@code qwen3_coder} parser:
 * <pre>
 * &lt;tool_call&gt;
 * &lt;function=get_weather&gt;
 * &lt;parameter=city&gt;
 * Paris
 * &lt;/parameter&gt;
 * &lt;/function&gt;
 * &lt;/tool_call&gt;
 * </pre>
 * several in a row (whitespace between), after any text. The function's name is 1 to 64 characters up to {@code >},
 * no whitespace or {@code <} in it (OpenAI's names are at most 64 characters; the bound also bounds what is held
 * while it is read). The body is read by {@link XmlParameters}: each parameter's text is typed by the tool's JSON
 * Schema when the format is bound to the request's tools ({@link #withTools}), else kept as a string.
 *
 * <p>A call is well-formed or it is content, as in the other formats: no {@code </function>}, text between the tags
 * or after {@code </function>} other than whitespace and {@code </tool_call>}, a parameter given twice or without its
 * closing tag make it, and all after it, content. A parameter the tools do not declare, or a function they do not
 * name, is still read (as a string): no format here checks calls against the tools.
 *
 * <p>Streamed, a call is announced once {@code <function=NAME>} is read, and its arguments follow a parameter at a
 * time ({@code {"city":"Paris"}}, then {@code ,"days":3}), the closing brace with the call's completion.
 */
final class Qwen3CoderFormat extends ToolCallFormat {
    private static final String OPEN = "<tool_call>";
    private static final String CLOSE = "</tool_call>";
    private static final String FUNCTION = "<function=";
    /** OpenAI's limit on a function name. */
    private static final int MAX_NAME = 64;

    /** Each described function's {@code properties} schema, by name; empty when not bound to tools. */
    private final Map<String, JsonNode> properties;

    /** How a call starts: its name and the index just past {@code <function=NAME>}, or why there is none. */
    private record Opening(String name, int bodyStart, Step otherwise) {
    }

    Qwen3CoderFormat(Map<String, JsonNode> properties) {
        this.properties = Map.copyOf(properties);
    }

    @Override
    public String name() {
        return "qwen3_coder";
    }

    @Override
    public ToolCallFormat withTools(List<ToolDefinition> tools) {
        Map<String, JsonNode> byName = new HashMap<>();
        for (ToolDefinition tool : tools) {
            JsonNode schema = tool.parametersSchema();
            if (schema != null && schema.get("properties") instanceof JsonNode described && described.isObject()) {
                byName.put(tool.name(), described);
            }
        }
        return new Qwen3CoderFormat(byName);
    }

    @Override
    int sectionStart(String text, boolean outputStart) {
        return text.indexOf(OPEN);
    }

    @Override
    int holdFrom(String text, boolean outputStart) {
        return heldPrefix(text, OPEN);
    }

    @Override
    ArgumentsReader argumentsReader(String function) {
        return new XmlParameters(properties.get(function));
    }

    @Override
    List<CallHead> heads(String section, int at) {
        Opening opening = opening(section, at);
        return opening.name() == null ? List.of() : List.of(new CallHead(opening.name(), opening.bodyStart()));
    }

    @Override
    Step step(String section, int at) {
        Opening opening = opening(section, at);
        if (opening.name() == null) {
            return opening.otherwise();
        }
        XmlParameters body = new XmlParameters(properties.get(opening.name()));
        int end = opening.bodyStart() + body.feed(section, opening.bodyStart(), section.length());
        if (body.failed()) {
            return Step.NOT_A_CALL;
        }
        if (!body.closed()) {
            return Step.INCOMPLETE;
        }
        int k = JsonSpans.skipWhitespace(section, end);
        if (section.startsWith(CLOSE, k)) {
            return new Step.Calls(List.of(new ToolCall(newCallId(), opening.name(), body.text())), k + CLOSE.length(), false);
        }
        return JsonSpans.startsPartOf(section, k, CLOSE) ? Step.INCOMPLETE : Step.NOT_A_CALL;
    }

    /** Reads {@code <tool_call> <function=NAME>} (whitespace around the tags) at {@code at}. */
    private static Opening opening(String text, int at) {
        int i = JsonSpans.skipWhitespace(text, at);
        if (!text.startsWith(OPEN, i)) {
            return notYet(text, i, OPEN);
        }
        int f = JsonSpans.skipWhitespace(text, i + OPEN.length());
        if (!text.startsWith(FUNCTION, f)) {
            return notYet(text, f, FUNCTION);
        }
        int nameStart = f + FUNCTION.length();
        int k = nameStart;
        while (k < text.length() && k - nameStart <= MAX_NAME && isNameChar(text.charAt(k))) {
            k++;
        }
        if (k == text.length() && k - nameStart <= MAX_NAME) {
            return new Opening(null, -1, Step.INCOMPLETE);
        }
        if (k == nameStart || k - nameStart > MAX_NAME || text.charAt(k) != '>') {
            return new Opening(null, -1, Step.NOT_A_CALL);
        }
        return new Opening(text.substring(nameStart, k), k + 1, null);
    }

    private static boolean isNameChar(char c) {
        return c != '>' && c != '<' && !Character.isWhitespace(c);
    }

    /** No opening at {@code i}: incomplete while the text there may still become {@code marker}. */
    private static Opening notYet(String text, int i, String marker) {
        return new Opening(null, -1, JsonSpans.startsPartOf(text, i, marker) ? Step.INCOMPLETE : Step.NOT_A_CALL);
    }
}
