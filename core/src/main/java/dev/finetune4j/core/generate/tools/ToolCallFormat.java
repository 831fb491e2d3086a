package dev.finetune4j.core.generate.tools;

import dev.finetune4j.core.tokenizer.ChatTemplate;
import dev.finetune4j.core.tokenizer.JinjaChatTemplate;
import dev.finetune4j.core.tokenizer.ToolCall;
import dev.finetune4j.core.tokenizer.ToolDefinition;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * How a model writes function calls in its output, read back into {@link ToolCall}s: one subclass per format.
 *
 * <ul>
 *   <li>{@link #HERMES} (Hermes, Qwen 2.5 and 3, SmolLM3, Granite 4): {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>},
 *   several in a row, after any text;</li>
 *   <li>{@link #LLAMA3_JSON} (Llama 3.1 and 3.2): the whole answer is {@code {"name": ..., "parameters": {...}}},
 *   optionally after {@code <|python_tag|>}, several separated by {@code ;};</li>
 *   <li>{@link #MISTRAL}: {@code [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]} after any text; since
 *   {@code [TOOL_CALLS]} is a special token, which decoding usually drops, an answer that starts with such an
 *   array reads as calls too;</li>
 *   <li>{@link #MISTRAL_V11} (Mistral's tokenizers from v11 on: Mistral Small 3.1 and 3.2, Magistral, Devstral):
 *   {@code [TOOL_CALLS]name[ARGS]{...}}, several in a row, after any text; both markers are special tokens, so
 *   {@code name{...}} reads as a call after a marker and at the start of the answer;</li>
 *   <li>{@link #GRANITE} (Granite 3.x; Granite 4 writes Hermes' blocks): {@code <|tool_call|>[{"name": ...,
 *   "arguments": {...}}, ...]}, read as Mistral's array, its marker a special token too;</li>
 *   <li>{@link #QWEN3_CODER} (Qwen3-Coder, Qwen3.5): {@code <tool_call><function=NAME><parameter=KEY>VALUE
 *   </parameter>...</function></tool_call>} (newlines around each tag), several in a row, after any text; the
 *   parameters' text is typed by the tools' JSON Schemas once bound to them ({@link #withTools});</li>
 *   <li>{@link #function(String)} and {@link #anyFunction()}: the output of a forced tool choice, decoded under
 *   {@link ToolChoiceSchemas}' grammars.</li>
 * </ul>
 *
 * <p>The text before the first call is content; then calls are read one after another, and the first thing that is
 * not a well-formed call (malformed JSON, a missing name, other text) ends them: it and everything after it is
 * content too, so nothing the model wrote is lost. Calls get fresh ids. Arguments may sit under {@code arguments}
 * or {@code parameters} in every JSON format; they are reported as the model wrote them less the whitespace outside
 * strings.
 *
 * <p>Streamed ({@link #stream()}), a call is announced as soon as its head is read (the marker, the name and the
 * opening brace of its arguments) and its arguments follow in pieces as they are generated; see
 * {@link ToolCallStream} for what is held back and what a call that breaks after its announcement becomes.
 *
 * <pre>{@code
 * ToolCallFormat format = ToolCallFormat.detect(tokenizer.chatTemplate()).orElse(ToolCallFormat.HERMES);
 * ParsedToolCalls parsed = format.parse(tokenizer.decode(answer));
 * parsed.calls().forEach(c -> System.out.println(c.name() + " " + c.arguments()));
 * }</pre>
 *
 * <p>Thread safety: immutable; {@link #stream()} gives each output its own state.
 */
public abstract sealed class ToolCallFormat permits HermesFormat, Llama3JsonFormat, MarkedArrayFormat, MistralV11Format,
        Qwen3CoderFormat, ForcedFormat {
    /** Hermes and Qwen's {@code <tool_call>} blocks. */
    public static final ToolCallFormat HERMES = new HermesFormat();
    /** Llama 3.1 and 3.2's JSON calls. */
    public static final ToolCallFormat LLAMA3_JSON = new Llama3JsonFormat();
    /** Mistral's {@code [TOOL_CALLS]} arrays. */
    public static final ToolCallFormat MISTRAL = MarkedArrayFormat.MISTRAL;
    /** Granite 3's {@code <|tool_call|>} arrays. */
    public static final ToolCallFormat GRANITE = MarkedArrayFormat.GRANITE;
    /** Mistral's {@code [TOOL_CALLS]name[ARGS]{...}} calls (tokenizers v11 and later). */
    public static final ToolCallFormat MISTRAL_V11 = new MistralV11Format();
    /** Qwen3-Coder's and Qwen3.5's XML calls, not bound to tools: every parameter reads as a string. */
    public static final ToolCallFormat QWEN3_CODER = new Qwen3CoderFormat(Map.of());
    /** The names of the model formats, as {@link #named} takes them. */
    public static final List<String> NAMES = List.of("hermes", "llama3_json", "mistral", "mistral_v11", "granite",
            "qwen3_coder");

    ToolCallFormat() {
    }

    /**
     * A model format by name (case-insensitive), as vLLM's {@code --tool-call-parser} names them.
     *
     * @param name {@code hermes}, {@code llama3_json}, {@code mistral}, {@code mistral_v11}, {@code granite} or
     *             {@code qwen3_coder}
     * @return the format
     * @throws IllegalArgumentException for another name, listing the names
     */
    public static ToolCallFormat named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "hermes" -> HERMES;
            case "llama3_json" -> LLAMA3_JSON;
            case "mistral" -> MISTRAL;
            case "mistral_v11" -> MISTRAL_V11;
            case "granite" -> GRANITE;
            case "qwen3_coder" -> QWEN3_CODER;
            default -> throw new IllegalArgumentException("unknown tool call format '" + name + "'; use one of " + NAMES);
        };
    }

    /**
     * The format a model's chat template asks for, told from the template's text: {@code <function=} means
     * {@link #QWEN3_CODER}, else {@code <tool_call>} {@link #HERMES} (both write {@code <tool_call>}), {@code [ARGS]}
     * {@link #MISTRAL_V11}, else {@code [TOOL_CALLS]} {@link #MISTRAL}, {@code <|tool_call|>} {@link #GRANITE}, and
     * {@code <|python_tag|>} or Llama 3's header tokens with {@code "parameters"} {@link #LLAMA3_JSON}.
     *
     * @param template the model's chat template
     * @return the format, or empty for a built-in format or a template that shows none of these
     */
    public static Optional<ToolCallFormat> detect(ChatTemplate template) {
        if (!(template instanceof JinjaChatTemplate jinja)) {
            return Optional.empty();
        }
        String source = jinja.source();
        if (source.contains("<function=")) {
            return Optional.of(QWEN3_CODER);
        }
        if (source.contains("<tool_call>")) {
            return Optional.of(HERMES);
        }
        if (source.contains("[ARGS]")) {
            return Optional.of(MISTRAL_V11);
        }
        if (source.contains("[TOOL_CALLS]")) {
            return Optional.of(MISTRAL);
        }
        if (source.contains("<|tool_call|>")) {
            return Optional.of(GRANITE);
        }
        if (source.contains("<|python_tag|>") || (source.contains("<|start_header_id|>") && source.contains("\"parameters\""))) {
            return Optional.of(LLAMA3_JSON);
        }
        return Optional.empty();
    }

    /**
     * The output of a tool choice that names {@code name}: the whole output is that function's arguments object
     * ({@link ToolChoiceSchemas#function}).
     *
     * @param name the function's name
     * @return the format
     */
    public static ToolCallFormat function(String name) {
        return new ForcedFunctionFormat(name);
    }

    /**
     * The output of the {@code required} tool choice: the whole output is a JSON array of
     * {@code {"name": ..., "parameters": {...}}} objects ({@link ToolChoiceSchemas#anyFunction}).
     *
     * @return the format
     */
    public static ToolCallFormat anyFunction() {
        return ForcedArrayFormat.INSTANCE;
    }

    /**
     * This format reading the calls of a request that offers {@code tools}: where the format leaves arguments untyped
     * ({@link #QWEN3_CODER}'s parameters are text), each is typed by its tool's JSON Schema. Formats whose calls are
     * JSON already return themselves.
     *
     * @param tools the request's tools
     * @return the format bound to the tools' schemas, or this one
     */
    public ToolCallFormat withTools(List<ToolDefinition> tools) {
        return this;
    }

    /**
     * The format's name, e.g. {@code hermes}.
     *
     * @return the name
     */
    public abstract String name();

    /**
     * Splits a whole output into content and calls.
     *
     * @param output the model's text
     * @return the content (null when blank) and the calls
     */
    public ParsedToolCalls parse(String output) {
        ToolCallStream stream = stream();
        StringBuilder content = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (List<ToolCallStream.Piece> pieces : List.of(stream.append(output), stream.finish())) {
            for (ToolCallStream.Piece piece : pieces) {
                switch (piece) {
                    case ToolCallStream.Text t -> content.append(t.text());
                    case ToolCallStream.Call c -> calls.add(c.call());
                    case ToolCallStream.CallStart _, ToolCallStream.ArgumentsPiece _ -> {
                        // announcements and argument pieces add up to the calls
                    }
                }
            }
        }
        return new ParsedToolCalls(content.toString().isBlank() ? null : content.toString(), calls);
    }

    /**
     * A reader for one output that arrives in pieces.
     *
     * @return a new stream
     */
    public ToolCallStream stream() {
        return new ToolCallStream(this);
    }

    /**
     * Where a call section starts in content not yet released.
     *
     * @param text        the held content
     * @param outputStart whether everything released before {@code text} was blank
     * @return the index of the section's start, or -1
     */
    abstract int sectionStart(String text, boolean outputStart);

    /**
     * Where the end of {@code text} may be the beginning of a call section that more text would confirm (a part of
     * a start marker); that end is held back. Whitespace before it is not held: it is content either way, and
     * holding it would rescan it for every piece of a model that loops on whitespace.
     *
     * @return the index from which to hold text, {@code text.length()} for none
     */
    abstract int holdFrom(String text, boolean outputStart);

    /**
     * Reads at {@code at} of a call section ({@code at} is 0 for the section's start, else just past a call).
     * Text that is incomplete and ends in whitespace must stay incomplete when more whitespace follows (no marker
     * ends in whitespace): a stream relies on it to skip the steps of a model that loops on whitespace.
     *
     * @param section the text from the section's start
     * @param at      where to read
     * @return what is there
     */
    abstract Step step(String section, int at);

    /**
     * The calls at {@code at} whose heads can be read already, in the order {@link #step} will return them: a call is
     * announced once its head is read, and its arguments then stream. A call whose head cannot be read in a fixed
     * layout (arguments written before the name, or as a string) is left out and sent whole once complete.
     *
     * @param section the text from the section's start
     * @param at      where the next step reads
     * @return the heads, possibly empty
     */
    abstract List<CallHead> heads(String section, int at);

    /** A reader for the arguments of a call of {@code function}, once its head is read: a JSON object by default. */
    ArgumentsReader argumentsReader(String function) {
        return new ArgumentsText();
    }

    /** A fresh call id: {@code call_} and 24 random letters and digits. */
    String newCallId() {
        return CallJson.randomId("call_", 24);
    }

    /** Where the end of {@code text} is a proper prefix of {@code marker}, or {@code text.length()}. */
    static int heldPrefix(String text, String marker) {
        for (int n = Math.min(marker.length() - 1, text.length()); n > 0; n--) {
            if (text.regionMatches(text.length() - n, marker, 0, n)) {
                return text.length() - n;
            }
        }
        return text.length();
    }

    @Override
    public String toString() {
        return name();
    }

    /**
     * The head of the call object at {@code objectStart} when it opens {@code {"name": "<name>", "arguments": {} or
     * {@code "parameters"} and the name has no escapes; else null (not yet known, or not in that layout).
     */
    static CallHead objectHead(String section, int objectStart) {
        int i = expect(section, objectStart, "{");
        i = expect(section, i, "\"name\"");
        i = expect(section, i, ":");
        i = expect(section, i, "\"");
        int close = i < 0 ? -1 : section.indexOf('"', i);
        if (close < 0) {
            return null;
        }
        String name = section.substring(i, close);
        if (name.isBlank() || name.indexOf('\\') >= 0) {
            return null; // an escape may hide the closing quote: read the name once the call is complete
        }
        int key = expect(section, close + 1, ",");
        int afterKey = Math.max(expect(section, key, "\"arguments\""), expect(section, key, "\"parameters\""));
        int colon = expect(section, afterKey, ":");
        int brace = colon < 0 ? -1 : JsonSpans.skipWhitespace(section, colon);
        return brace >= 0 && brace < section.length() && section.charAt(brace) == '{' ? new CallHead(name, brace) : null;
    }

    /** The heads of the array of call objects whose {@code [} is at {@code arrayStart}, up to the first unknown one. */
    static List<CallHead> arrayHeads(String section, int arrayStart) {
        List<CallHead> heads = new ArrayList<>();
        int i = expect(section, arrayStart, "[");
        while (i >= 0) {
            int objectStart = JsonSpans.skipWhitespace(section, i);
            CallHead head = objectHead(section, objectStart);
            if (head == null) {
                break;
            }
            heads.add(head);
            int end = JsonSpans.end(section, objectStart);
            i = end < 0 ? -1 : expect(section, end, ",");
        }
        return heads;
    }

    /** The index just past {@code token} when it follows {@code from} (after whitespace), else -1. */
    private static int expect(String section, int from, String token) {
        if (from < 0) {
            return -1;
        }
        int i = JsonSpans.skipWhitespace(section, from);
        return section.startsWith(token, i) ? i + token.length() : -1;
    }

    /** Reads a JSON span into a step: the span's text and the index just past it. */
    @FunctionalInterface
    interface SpanReader {
        Step read(String json, int end);
    }

    /** The object or array at {@code from} (after whitespace), read by {@code read} once it is complete. */
    static Step span(String section, int from, SpanReader read) {
        int i = JsonSpans.skipWhitespace(section, from);
        if (i == section.length()) {
            return Step.INCOMPLETE;
        }
        if (!JsonSpans.opensValue(section, i)) {
            return Step.NOT_A_CALL;
        }
        JsonSpans.Scan scan = new JsonSpans.Scan(i);
        int end = scan.resume(section);
        if (end == JsonSpans.INCOMPLETE) {
            return new Step.Incomplete(scan);
        }
        return read.read(section.substring(i, end), end);
    }
}
