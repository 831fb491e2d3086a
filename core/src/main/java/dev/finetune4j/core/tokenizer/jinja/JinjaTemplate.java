package dev.finetune4j.core.tokenizer.jinja;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jinja2 template rendered as transformers' {@code apply_chat_template} renders chat templates: jinja2's
 * {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with the loop controls
 * ({@code break}, {@code continue}), the {@code {% generation %}} tag, and the globals {@code raise_exception}
 * and {@code strftime_now}. Python semantics throughout: {@code str()} of values, truthiness, int/float
 * arithmetic, undefined values that print empty but fail when used.
 *
 * <pre>{@code
 * JinjaTemplate t = JinjaTemplate.parse("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}");
 * String text = t.render(Map.of("messages", List.of(Map.of("role", "user", "content", "hi"))));
 * }</pre>
 *
 * <p>A template is untrusted input (it comes with a downloaded model): it sees only the values given to
 * {@link #render}, never Java objects, and a render is bounded by {@link Limits}. Not supported, and refused
 * when parsing: {@code include}/{@code import}/{@code extends} (there are no other templates), {@code with},
 * recursive loops, and filters or tests outside the common set (the error lists those supported); macros take
 * no {@code varargs}/{@code kwargs} beyond their parameters.
 *
 * <p>Thread safety: immutable; renders may run concurrently.
 */
public final class JinjaTemplate {
    private final List<Node> nodes;
    private final Limits limits;

    private JinjaTemplate(List<Node> nodes, Limits limits) {
        this.nodes = nodes;
        this.limits = limits;
    }

    /**
     * Parses {@code source} with {@link Limits#DEFAULT}.
     *
     * @param source the template text
     * @return the template
     * @throws TemplateException naming the line, column and what was expected when the text is not a template
     */
    public static JinjaTemplate parse(String source) {
        return parse(source, Limits.DEFAULT);
    }

    /**
     * Parses {@code source}; renders will be bounded by {@code limits}.
     *
     * @param source the template text
     * @param limits bounds on parsing and on each render
     * @return the template
     * @throws TemplateException naming the line, column and what was expected when the text is not a template
     */
    public static JinjaTemplate parse(String source, Limits limits) {
        try {
            return new JinjaTemplate(Parser.parse(source, limits), limits);
        } catch (StackOverflowError e) {
            throw new TemplateException("the template nests too deeply for the Java stack; lower Limits.maxDepth", 0);
        }
    }

    /**
     * Renders with the system clock for {@code strftime_now}.
     *
     * @param context the variables: null, booleans, numbers, strings, lists and maps of those
     * @return the rendered text
     * @throws TemplateException when rendering fails; {@link TemplateRaisedException} when the template called
     *                           {@code raise_exception}
     */
    public String render(Map<String, ?> context) {
        return render(context, Clock.systemDefaultZone());
    }

    /**
     * Renders with {@code clock} as the time of {@code strftime_now}.
     *
     * @param context the variables: null, booleans, numbers, strings, lists and maps of those
     * @param clock the time and zone {@code strftime_now} formats
     * @return the rendered text
     * @throws TemplateException when rendering fails; {@link TemplateRaisedException} when the template called
     *                           {@code raise_exception}
     * @throws IllegalArgumentException when the context holds another kind of value
     */
    public String render(Map<String, ?> context, Clock clock) {
        Map<String, Object> values = new LinkedHashMap<>();
        context.forEach((name, value) -> values.put(name, value(value, name, 0)));
        return new Interpreter(limits, clock).render(nodes, values);
    }

    /** A context value as a template value; nothing but plain data crosses into the template. */
    private Object value(Object v, String path, int depth) {
        if (depth > limits.maxDepth()) {
            throw new IllegalArgumentException("the template context nests deeper than " + limits.maxDepth() + " at " + path);
        }
        return switch (v) {
            case null -> null;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Double d -> d;
            case Float f -> (double) f;
            case CharSequence s -> s.toString();
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                m.forEach((key, value) -> out.put(value(key, path, depth + 1), value(value, path + "." + key, depth + 1)));
                yield Collections.unmodifiableMap(out);
            }
            case Collection<?> c -> {
                List<Object> out = new ArrayList<>(c.size());
                int i = 0;
                for (Object item : c) {
                    out.add(value(item, path + "[" + i++ + "]", depth + 1));
                }
                yield Collections.unmodifiableList(out);
            }
            default -> throw new IllegalArgumentException("the template context value " + path + " is a "
                    + v.getClass().getName() + "; a template sees only null, booleans, numbers, strings, lists and maps");
        };
    }
}
