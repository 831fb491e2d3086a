package dev.finetune4j.core.tokenizer.jinja;

import dev.finetune4j.core.tokenizer.jinja.Expr.Kwarg;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders parsed statements once, with jinja2's scoping (a for loop's iteration and a macro call get their own
 * scope; {@code set} elsewhere assigns in the current one) and the bounds of {@link Limits}: every statement and
 * expression costs a step, every string or list built is measured before it is allocated, and macro calls nest
 * at most {@link Limits#maxDepth()} deep. Only the values given to the render are reachable: attribute access
 * is limited to the Python methods {@link Methods} implements, and those that would mutate are refused as
 * jinja2's {@code ImmutableSandboxedEnvironment} refuses them.
 *
 * <p>A step is also charged per loop iteration and per {@link #CHARS_PER_STEP} characters (or items) of every string
 * or list an expression yields: an operation on a value takes time in its size, so the step budget bounds the time
 * of a render and the memory it allocates, not only its count of operations.
 */
final class Interpreter {
    private enum Flow { NORMAL, BREAK, CONTINUE }

    /** Characters or items of a value that cost one step: a few nanoseconds of copying or comparing each. */
    static final int CHARS_PER_STEP = 64;

    /** A scope: the variables it set, then its parent's. */
    private static final class Frame {
        private final Frame parent;
        private final Map<String, Object> vars = new HashMap<>();

        Frame(Frame parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Frame f = this; f != null; f = f.parent) {
                if (f.vars.containsKey(name)) {
                    return f.vars.get(name);
                }
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    final Limits limits;
    final Clock clock;
    private long steps;
    private int calls;
    private int line;

    Interpreter(Limits limits, Clock clock) {
        this.limits = limits;
        this.clock = clock;
    }

    String render(List<Node> nodes, Map<String, Object> context) {
        Frame globals = new Frame(null);
        globals.vars.putAll(Globals.all());
        Frame top = new Frame(globals);
        top.vars.putAll(context);
        StringBuilder out = new StringBuilder();
        exec(nodes, top, out);
        return out.toString();
    }

    private void tick() {
        spend(1);
    }

    private void spend(long cost) {
        steps += cost;
        if (steps > limits.maxSteps()) {
            throw new TemplateException("the template took more than " + limits.maxSteps() + " steps (Limits.maxSteps: "
                    + "one per statement, expression and loop iteration, and one per " + CHARS_PER_STEP + " characters of "
                    + "the values handled) and was stopped; a chat template renders a conversation in a few thousand", line);
        }
    }

    private void append(StringBuilder out, String s) {
        Py.checkSize((long) out.length() + s.length(), limits.maxChars());
        out.append(s);
    }

    private Flow exec(List<Node> nodes, Frame frame, StringBuilder out) {
        for (Node node : nodes) {
            Flow flow = execNode(node, frame, out);
            if (flow != Flow.NORMAL) {
                return flow;
            }
        }
        return Flow.NORMAL;
    }

    /** Runs one statement; an error without a line gets this statement's line. */
    private Flow execNode(Node node, Frame frame, StringBuilder out) {
        tick();
        int outer = line;
        line = node.line();
        try {
            return switch (node) {
                case Node.Text t -> {
                    append(out, t.text());
                    yield Flow.NORMAL;
                }
                case Node.Output o -> {
                    append(out, Py.str(eval(o.expr(), frame)));
                    yield Flow.NORMAL;
                }
                case Node.If i -> {
                    for (int k = 0; k < i.conditions().size(); k++) {
                        if (Py.truthy(eval(i.conditions().get(k), frame))) {
                            yield exec(i.bodies().get(k), frame, out);
                        }
                    }
                    yield exec(i.otherwise(), frame, out);
                }
                case Node.For f -> loop(f, frame, out);
                case Node.Set s -> {
                    assign(s.target(), eval(s.value(), frame), frame);
                    yield Flow.NORMAL;
                }
                case Node.SetBlock s -> {
                    StringBuilder body = new StringBuilder();
                    exec(s.body(), new Frame(frame), body);
                    assign(s.target(), body.toString(), frame);
                    yield Flow.NORMAL;
                }
                case Node.Macro m -> {
                    frame.vars.put(m.name(), macro(m, frame));
                    yield Flow.NORMAL;
                }
                case Node.FilterBlock f -> {
                    StringBuilder body = new StringBuilder();
                    exec(f.body(), frame, body);
                    Object value = body.toString();
                    for (Expr.Filter filter : f.filters()) {
                        value = Filters.apply(this, filter.name(), value, values(filter.args(), frame), kwargs(filter.kwargs(), frame));
                    }
                    append(out, Py.str(value));
                    yield Flow.NORMAL;
                }
                case Node.CallBlock c -> {
                    Node.Macro caller = new Node.Macro(c.line(), "caller", c.params(),
                            Collections.nCopies(c.params().size(), null), c.body());
                    Map<String, Object> kwargs = new LinkedHashMap<>(kwargs(c.call().kwargs(), frame));
                    kwargs.put("caller", macro(caller, frame));
                    append(out, Py.str(call(c.call(), frame, kwargs)));
                    yield Flow.NORMAL;
                }
                case Node.Break b -> Flow.BREAK;
                case Node.Continue c -> Flow.CONTINUE;
                case Node.Generation g -> exec(g.body(), frame, out);
            };
        } catch (TemplateRaisedException e) {
            throw e.line() != 0 ? e : new TemplateRaisedException(e.getMessage(), line);
        } catch (TemplateException e) {
            throw e.line() != 0 ? e : new TemplateException("line " + line + ": " + e.getMessage(), line);
        } catch (StackOverflowError e) {
            throw new TemplateException("line " + line + ": the template nests too deeply for the Java stack; lower "
                    + "Limits.maxDepth or run with a larger thread stack", line);
        } finally {
            line = outer;
        }
    }

    private Flow loop(Node.For f, Frame frame, StringBuilder out) {
        List<Object> items = Py.iterate(eval(f.iter(), frame));
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                tick();
                Frame scope = new Frame(frame);
                assign(f.target(), item, scope);
                if (Py.truthy(eval(f.filter(), scope))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        int n = items.size();
        for (int i = 0; i < n; i++) {
            tick();
            Frame scope = new Frame(frame);
            scope.vars.put("loop", new Loop(items, i));
            assign(f.target(), items.get(i), scope);
            if (exec(f.body(), scope, out) == Flow.BREAK) {
                break;
            }
        }
        return n == 0 ? exec(f.otherwise(), frame, out) : Flow.NORMAL;
    }

    private void assign(Expr target, Object value, Frame frame) {
        switch (target) {
            case Expr.Name n -> frame.vars.put(n.name(), value);
            case Expr.ListLit names -> {
                List<Object> values = Py.iterate(value);
                if (values.size() != names.items().size()) {
                    throw Py.typeError((values.size() > names.items().size() ? "too many" : "not enough")
                            + " values to unpack (expected " + names.items().size() + ", got " + values.size() + ")");
                }
                for (int i = 0; i < values.size(); i++) {
                    assign(names.items().get(i), values.get(i), frame);
                }
            }
            case Expr.Attr a -> {
                if (!(frame.get(((Expr.Name) a.obj()).name()) instanceof Namespace ns)) {
                    throw Py.typeError("cannot assign attribute on non-namespace object '" + ((Expr.Name) a.obj()).name() + "'");
                }
                ns.attributes.put(a.name(), value);
            }
            default -> throw new IllegalStateException("the parser only makes names, tuples and attributes targets");
        }
    }

    private JinjaFunction macro(Node.Macro m, Frame defining) {
        return (in, args, kwargs) -> {
            if (args.size() > m.params().size()) {
                throw Py.typeError("macro '" + m.name() + "' takes not more than " + m.params().size() + " argument(s)");
            }
            if (++calls > limits.maxDepth()) {
                // NOTE: Python's words first: jinja2 fails here with RecursionError's "maximum recursion depth exceeded"
                throw new TemplateException("maximum recursion depth exceeded: macro calls nest more than "
                        + limits.maxDepth() + " deep (Limits.maxDepth); "
                        + "does macro '" + m.name() + "' call itself without end?", 0);
            }
            try {
                Frame scope = new Frame(defining);
                for (int i = 0; i < m.params().size(); i++) {
                    String p = m.params().get(i);
                    Object v = i < args.size() ? args.get(i) : kwargs.containsKey(p) ? kwargs.get(p)
                            : m.defaults().get(i) != null ? eval(m.defaults().get(i), scope)
                            : new Undefined("parameter '" + p + "' was not provided");
                    scope.vars.put(p, v);
                }
                if (kwargs.containsKey("caller")) {
                    scope.vars.put("caller", kwargs.get("caller"));
                }
                for (String k : kwargs.keySet()) {
                    if (!m.params().contains(k) && !k.equals("caller")) {
                        throw Py.typeError("macro '" + m.name() + "' takes no keyword argument '" + k + "'");
                    }
                }
                StringBuilder out = new StringBuilder();
                exec(m.body(), scope, out);
                return out.toString();
            } finally {
                calls--;
            }
        };
    }

    Object eval(Expr e, Frame frame) {
        tick();
        Object value = evalUncharged(e, frame);
        spend(switch (value) {
            case String s -> s.length() / CHARS_PER_STEP;
            case List<?> l -> l.size() / CHARS_PER_STEP;
            case Map<?, ?> m -> m.size() / CHARS_PER_STEP;
            case null, default -> 0;
        });
        return value;
    }

    private Object evalUncharged(Expr e, Frame frame) {
        return switch (e) {
            case Expr.Const c -> c.value();
            case Expr.Name n -> frame.get(n.name());
            case Expr.Attr a -> Attributes.get(eval(a.obj(), frame), a.name(), line);
            case Expr.Item i -> Attributes.item(eval(i.obj(), frame), eval(i.key(), frame), line);
            case Expr.Slice s -> {
                Object obj = eval(s.obj(), frame);
                if (obj instanceof Undefined u) {
                    throw u.fail();
                }
                yield Py.slice(obj, bound(s.start(), frame), bound(s.stop(), frame), bound(s.step(), frame));
            }
            case Expr.Call c -> call(c, frame, kwargs(c.kwargs(), frame));
            case Expr.Filter f -> Filters.apply(this, f.name(), eval(f.value(), frame), values(f.args(), frame),
                    kwargs(f.kwargs(), frame));
            case Expr.Test t -> Tests.apply(t.name(), eval(t.value(), frame), values(t.args(), frame)) != t.negated();
            case Expr.Unary u -> switch (u.op()) {
                case "not" -> !Py.truthy(eval(u.operand(), frame));
                case "-" -> Py.negate(defined(eval(u.operand(), frame)));
                default -> requireNumber(defined(eval(u.operand(), frame)));
            };
            case Expr.Binary b -> binary(b, frame);
            case Expr.Compare c -> compare(c, frame);
            case Expr.Cond c -> Py.truthy(eval(c.cond(), frame)) ? eval(c.then(), frame)
                    : c.otherwise() != null ? eval(c.otherwise(), frame)
                    : new Undefined("the inline if expression on line " + line + " evaluated to false and no else section was defined.");
            case Expr.ListLit l -> {
                List<Object> items = values(l.items(), frame);
                yield l.tuple() ? new PyTuple(items) : items;
            }
            case Expr.DictLit d -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    map.put(eval(d.keys().get(i), frame), eval(d.values().get(i), frame));
                }
                yield Collections.unmodifiableMap(map);
            }
        };
    }

    private Long bound(Expr e, Frame frame) {
        if (e == null) {
            return null;
        }
        Object v = eval(e, frame);
        if (v == null) {
            return null;
        }
        if (v instanceof Long || v instanceof Boolean) {
            return Py.asLong(v);
        }
        throw Py.typeError("slice indices must be integers or None, not " + Py.typeName(v));
    }

    private Object requireNumber(Object v) {
        if (!Py.isNumber(v)) {
            throw Py.typeError("bad operand type for unary +: '" + Py.typeName(v) + "'");
        }
        return v;
    }

    /** The value, or the error an undefined one raises when used for more than printing or truth. */
    Object defined(Object v) {
        if (v instanceof Undefined u) {
            throw u.fail();
        }
        return v;
    }

    private Object binary(Expr.Binary b, Frame frame) {
        return switch (b.op()) {
            case "and" -> {
                Object left = eval(b.left(), frame);
                yield Py.truthy(left) ? eval(b.right(), frame) : left;
            }
            case "or" -> {
                Object left = eval(b.left(), frame);
                yield Py.truthy(left) ? left : eval(b.right(), frame);
            }
            case "~" -> {
                String left = Py.str(eval(b.left(), frame));
                String right = Py.str(eval(b.right(), frame));
                Py.checkSize((long) left.length() + right.length(), limits.maxChars());
                yield left + right;
            }
            default -> Py.arithmetic(b.op(), defined(eval(b.left(), frame)), defined(eval(b.right(), frame)), limits.maxChars());
        };
    }

    private Object compare(Expr.Compare c, Frame frame) {
        Object left = eval(c.first(), frame);
        for (int i = 0; i < c.ops().size(); i++) {
            Object right = eval(c.rest().get(i), frame);
            boolean holds = switch (c.ops().get(i)) {
                case "==" -> Py.eq(left, right);
                case "!=" -> !Py.eq(left, right);
                case "in" -> Py.contains(right, left);
                case "not in" -> !Py.contains(right, left);
                case "<" -> Py.compare(defined(left), defined(right), "<") < 0;
                case "<=" -> Py.compare(defined(left), defined(right), "<=") <= 0;
                case ">" -> Py.compare(defined(left), defined(right), ">") > 0;
                default -> Py.compare(defined(left), defined(right), ">=") >= 0;
            };
            if (!holds) {
                return false;
            }
            left = right;
        }
        return true;
    }

    /** A call with its {@code *args} spread after the positional arguments and {@code **kwargs} merged. */
    private Object call(Expr.Call c, Frame frame, Map<String, Object> kwargs) {
        Object fn = eval(c.fn(), frame);
        List<Object> args = values(c.args(), frame);
        if (c.more() != null) {
            List<Object> all = new ArrayList<>(args);
            all.addAll(Py.iterate(defined(eval(c.more(), frame))));
            args = Collections.unmodifiableList(all);
        }
        if (c.named() != null) {
            if (!(defined(eval(c.named(), frame)) instanceof Map<?, ?> named)) {
                throw Py.typeError("argument after ** must be a mapping");
            }
            Map<String, Object> all = new LinkedHashMap<>(kwargs);
            named.forEach((k, v) -> all.put(Py.str(k), v));
            kwargs = all;
        }
        return call(fn, args, kwargs);
    }

    Object call(Object fn, List<Object> args, Map<String, Object> kwargs) {
        if (fn instanceof JinjaFunction f) {
            return f.call(this, args, kwargs);
        }
        if (fn instanceof Undefined u) {
            throw u.fail();
        }
        throw Py.typeError("'" + Py.typeName(fn) + "' object is not callable");
    }

    private List<Object> values(List<Expr> exprs, Frame frame) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) {
            out.add(eval(e, frame));
        }
        return Collections.unmodifiableList(out);
    }

    private Map<String, Object> kwargs(List<Kwarg> kwargs, Frame frame) {
        if (kwargs.isEmpty()) {
            return Map.of();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Kwarg k : kwargs) {
            out.put(k.name(), eval(k.value(), frame));
        }
        return out;
    }

    int line() {
        return line;
    }

}
