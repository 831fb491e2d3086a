package dev.finetune4j.core.tokenizer.jinja;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code obj.name} and {@code obj[key]} as jinja2's sandbox resolves them: {@code .name} tries a Python attribute
 * (a method from {@link Methods}) and then the item, {@code [key]} the item and then the attribute. What is
 * missing is an {@link Undefined} naming it, as is the item of an undefined key; methods that would mutate a list or
 * dict are refused with jinja2's SecurityError message. Using an attribute or item of an undefined value fails.
 */
final class Attributes {
    private static final Set<String> LIST_MUTATORS = Set.of("append", "extend", "insert", "pop", "remove", "clear",
            "sort", "reverse", "__setitem__", "__delitem__");
    private static final Set<String> DICT_MUTATORS = Set.of("pop", "popitem", "setdefault", "update", "clear",
            "__setitem__", "__delitem__");

    private Attributes() {
    }

    static Object get(Object obj, String name, int line) {
        if (obj instanceof Undefined u) {
            throw u.fail();
        }
        if (obj instanceof Loop loop) {
            return loop.attribute(name);
        }
        if (obj instanceof Namespace ns) {
            return ns.attributes.containsKey(name) ? ns.attributes.get(name)
                    : new Undefined("'Namespace object' has no attribute '" + name + "'");
        }
        Object attribute = attribute(obj, name);
        if (attribute != null) {
            return attribute;
        }
        if (obj instanceof Map<?, ?> m && m.containsKey(name)) {
            return m.get(name);
        }
        return missingAttribute(obj, name);
    }

    static Object item(Object obj, Object key, int line) {
        if (obj instanceof Undefined u) {
            throw u.fail();
        }
        // NOTE: an undefined key is no error: no item has it, so the result is undefined (jinja2 catches the lookup's
        // KeyError or TypeError), e.g. MiniCPM3's type_map[spec.type] for a schema without a type.
        switch (obj) {
            case null -> {
            }
            case Map<?, ?> m when m.containsKey(key) -> {
                return m.get(key);
            }
            case List<?> l when key instanceof Long || key instanceof Boolean -> {
                long i = Py.asLong(key);
                long at = i < 0 ? i + l.size() : i;
                if (at >= 0 && at < l.size()) {
                    return l.get((int) at);
                }
            }
            case String s when key instanceof Long || key instanceof Boolean -> {
                String c = Py.codePointAt(s, Py.asLong(key));
                if (c != null) {
                    return c;
                }
            }
            case Namespace ns when key instanceof String name -> {
                return get(ns, name, line);
            }
            default -> {
            }
        }
        if (key instanceof String name) {
            Object attribute = attribute(obj, name);
            return attribute != null ? attribute : missingAttribute(obj, name);
        }
        return new Undefined(typeRepr(obj) + " has no element " + Py.repr(key));
    }

    /** The Python attribute {@code name} of {@code obj}: a bound method, a refusal, or null when there is none. */
    private static Object attribute(Object obj, String name) {
        boolean unsafe = obj instanceof List && LIST_MUTATORS.contains(name) || obj instanceof Map && DICT_MUTATORS.contains(name);
        if (unsafe) {
            return new Undefined("access to attribute '" + name + "' of '" + Py.typeName(obj) + "' object is unsafe.");
        }
        return Methods.bind(obj, name);
    }

    private static Undefined missingAttribute(Object obj, String name) {
        return new Undefined("'" + typeRepr(obj) + "' has no attribute '" + name + "'");
    }

    /** jinja2's {@code object_type_repr}: "dict object", or "None". */
    private static String typeRepr(Object obj) {
        return obj == null ? "None" : Py.typeName(obj) + " object";
    }
}
