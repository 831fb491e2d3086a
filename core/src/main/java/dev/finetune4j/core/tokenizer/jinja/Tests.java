package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** jinja2's built-in tests ({@code x is defined}, {@code x is string}, {@code n is divisibleby 3}...). */
final class Tests {
    static final Set<String> NAMES = Set.of("defined", "undefined", "none", "string", "mapping", "iterable", "sequence",
            "number", "integer", "float", "boolean", "true", "false", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan",
            "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "divisibleby", "odd", "even", "callable", "sameas",
            "lower", "upper");

    private Tests() {
    }

    static boolean apply(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map;
            case "iterable" -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined;
            case "sequence" -> v instanceof List || v instanceof Map || v instanceof String;
            case "number" -> Py.isNumber(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "callable" -> v instanceof JinjaFunction;
            case "lower" -> Py.str(v).equals(Py.str(v).toLowerCase(Locale.ROOT));
            case "upper" -> Py.str(v).equals(Py.str(v).toUpperCase(Locale.ROOT));
            case "odd", "even" -> {
                long n = Py.asLong(requireNumber(name, v));
                yield (Math.floorMod(n, 2) == 1) == name.equals("odd");
            }
            case "divisibleby" -> {
                long d = Py.asLong(requireNumber(name, arg(name, args)));
                if (d == 0) {
                    throw Py.typeError("integer division or modulo by zero");
                }
                yield Math.floorMod(Py.asLong(requireNumber(name, v)), d) == 0;
            }
            case "eq", "equalto", "==" -> Py.eq(v, arg(name, args));
            case "ne", "!=" -> !Py.eq(v, arg(name, args));
            case "sameas" -> v == arg(name, args) || v != null && Py.eq(v, arg(name, args)) && !(v instanceof List || v instanceof Map);
            case "lt", "lessthan", "<" -> Py.compare(v, arg(name, args), "<") < 0;
            case "le", "<=" -> Py.compare(v, arg(name, args), "<=") <= 0;
            case "gt", "greaterthan", ">" -> Py.compare(v, arg(name, args), ">") > 0;
            case "ge", ">=" -> Py.compare(v, arg(name, args), ">=") >= 0;
            case "in" -> Py.contains(arg(name, args), v);
            default -> throw new IllegalStateException("the parser accepted the unknown test " + name);
        };
    }

    private static Object arg(String test, List<Object> args) {
        if (args.size() != 1) {
            throw Py.typeError("the test '" + test + "' takes one argument, got " + args.size());
        }
        return args.getFirst();
    }

    private static Object requireNumber(String test, Object v) {
        if (v instanceof Long || v instanceof Boolean) {
            return v;
        }
        throw Py.typeError("the test '" + test + "' needs an integer, got " + Py.typeName(v));
    }
}
