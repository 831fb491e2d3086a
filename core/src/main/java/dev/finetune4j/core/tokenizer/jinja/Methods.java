package dev.finetune4j.core.tokenizer.jinja;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Python methods of str and dict that chat templates call ({@code content.strip()},
 * {@code content.split('</think>')}, {@code message.get('tool_calls')}, {@code tools.items()}), bound to their
 * receiver. Lists have no methods here: the safe ones are never used by templates and the others mutate.
 */
final class Methods {
    private Methods() {
    }

    /** {@code obj.name} as a callable, or null when {@code obj} has no such method here. */
    static JinjaFunction bind(Object obj, String name) {
        if (obj instanceof String s) {
            return stringMethod(s, name);
        }
        if (obj instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" -> (in, a, k) -> items(m);
                case "keys" -> (in, a, k) -> new ArrayList<Object>(m.keySet());
                case "values" -> (in, a, k) -> new ArrayList<Object>(m.values());
                case "get" -> (in, a, k) -> {
                    arity("get", a, 1, 2);
                    return m.containsKey(a.get(0)) ? m.get(a.get(0)) : a.size() > 1 ? a.get(1) : null;
                };
                default -> null;
            };
        }
        return null;
    }

    static List<Object> items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>();
        m.forEach((key, value) -> out.add(new PyTuple(Arrays.asList(key, value))));
        return out;
    }

    private static void arity(String method, List<Object> args, int min, int max) {
        if (args.size() < min || args.size() > max) {
            throw Py.typeError(method + "() takes " + (min == max ? "" + min : min + " to " + max) + " arguments ("
                    + args.size() + " given)");
        }
    }

    private static String text(List<Object> args, int i, String method) {
        return Py.optionalText(i < args.size() ? args.get(i) : null, method + "() argument");
    }

    private static JinjaFunction stringMethod(String s, String name) {
        return switch (name) {
            case "strip", "lstrip", "rstrip" -> (in, a, k) -> {
                arity(name, a, 0, 1);
                return Py.strip(s, text(a, 0, name), !name.equals("rstrip"), !name.equals("lstrip"));
            };
            case "split", "rsplit" -> (in, a, k) -> {
                arity(name, a, 0, 2);
                String sep = text(a, 0, name);
                long max = a.size() > 1 ? Py.asLong(a.get(1)) : k.containsKey("maxsplit") ? Py.asLong(k.get("maxsplit")) : -1;
                return split(s, sep != null ? sep : Py.optionalText(k.get("sep"), name + "() argument"), max, name.equals("rsplit"));
            };
            case "startswith", "endswith" -> (in, a, k) -> {
                arity(name, a, 1, 1);
                List<Object> options = a.get(0) instanceof PyTuple t ? t : List.of(a.get(0));
                for (Object o : options) {
                    if (!(o instanceof String affix)) {
                        throw Py.typeError(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
                    }
                    if (name.equals("startswith") ? s.startsWith(affix) : s.endsWith(affix)) {
                        return true;
                    }
                }
                return false;
            };
            case "upper" -> (in, a, k) -> s.toUpperCase(Locale.ROOT);
            case "lower" -> (in, a, k) -> s.toLowerCase(Locale.ROOT);
            case "title" -> (in, a, k) -> title(s);
            case "capitalize" -> (in, a, k) -> s.isEmpty() ? s
                    : s.substring(0, s.offsetByCodePoints(0, 1)).toUpperCase(Locale.ROOT)
                    + s.substring(s.offsetByCodePoints(0, 1)).toLowerCase(Locale.ROOT);
            case "replace" -> (in, a, k) -> {
                arity(name, a, 2, 3);
                return replace(s, text(a, 0, name), text(a, 1, name), a.size() > 2 ? Py.asLong(a.get(2)) : -1,
                        in.limits.maxChars());
            };
            case "find", "rfind", "index", "rindex" -> (in, a, k) -> {
                arity(name, a, 1, 1);
                String sub = text(a, 0, name);
                int at = name.startsWith("r") ? s.lastIndexOf(sub) : s.indexOf(sub);
                if (at < 0 && name.contains("index")) {
                    throw Py.typeError("substring not found");
                }
                return at < 0 ? -1L : (long) s.codePointCount(0, at);
            };
            case "count" -> (in, a, k) -> {
                arity(name, a, 1, 1);
                String sub = text(a, 0, name);
                if (sub.isEmpty()) {
                    return (long) s.codePointCount(0, s.length()) + 1;
                }
                long n = 0;
                for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
                    n++;
                }
                return n;
            };
            case "join" -> (in, a, k) -> {
                arity(name, a, 1, 1);
                List<Object> parts = Py.iterate(in.defined(a.get(0)));
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < parts.size(); i++) {
                    if (!(parts.get(i) instanceof String part)) {
                        throw Py.typeError("sequence item " + i + ": expected str instance, " + Py.typeName(parts.get(i)) + " found");
                    }
                    Py.checkSize((long) sb.length() + s.length() + part.length(), in.limits.maxChars());
                    sb.append(i > 0 ? s : "").append(part);
                }
                return sb.toString();
            };
            case "splitlines" -> (in, a, k) -> splitlines(s);
            case "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower" -> (in, a, k) -> is(s, name);
            default -> null;
        };
    }

    /** Python's {@code str.split}: with no separator, runs of whitespace split and empty parts are dropped. */
    static List<Object> split(String s, String sep, long maxsplit, boolean fromRight) {
        if (sep != null && sep.isEmpty()) {
            throw Py.typeError("empty separator");
        }
        List<Object> parts = new ArrayList<>();
        if (sep == null) {
            String rest = fromRight ? Py.strip(s, null, false, true) : Py.strip(s, null, true, false);
            while (!rest.isEmpty()) {
                if (maxsplit >= 0 && parts.size() == maxsplit) {
                    parts.add(rest);
                    break;
                }
                int cut = fromRight ? lastSpace(rest) : firstSpace(rest);
                if (cut < 0) {
                    parts.add(rest);
                    break;
                }
                parts.add(fromRight ? rest.substring(cut + 1) : rest.substring(0, cut));
                rest = fromRight ? Py.strip(rest.substring(0, cut), null, false, true) : Py.strip(rest.substring(cut), null, true, false);
            }
            return fromRight ? reversed(parts) : parts;
        }
        String rest = s;
        while (maxsplit < 0 || parts.size() < maxsplit) {
            int at = fromRight ? rest.lastIndexOf(sep) : rest.indexOf(sep);
            if (at < 0) {
                break;
            }
            parts.add(fromRight ? rest.substring(at + sep.length()) : rest.substring(0, at));
            rest = fromRight ? rest.substring(0, at) : rest.substring(at + sep.length());
        }
        parts.add(rest);
        return fromRight ? reversed(parts) : parts;
    }

    private static List<Object> reversed(List<Object> parts) {
        return new ArrayList<>(parts.reversed());
    }

    private static int firstSpace(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Py.isSpace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    private static int lastSpace(String s) {
        for (int i = s.length() - 1; i >= 0; i--) {
            if (Py.isSpace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    /** Python's {@code str.replace}, the result's size checked before it is built. */
    static String replace(String s, String old, String with, long count, int maxChars) {
        if (old.isEmpty()) {
            throw Py.typeError("replacing an empty string is not supported");
        }
        long n = 0;
        for (int at = s.indexOf(old); at >= 0 && (count < 0 || n < count); at = s.indexOf(old, at + old.length())) {
            n++;
        }
        Py.checkSize(s.length() + n * (with.length() - old.length()), maxChars);
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long i = 0; i < n; i++) {
            int at = s.indexOf(old, from);
            sb.append(s, from, at).append(with);
            from = at + old.length();
        }
        return sb.append(s, from, s.length()).toString();
    }

    /** Python's {@code str.title}: upper case after anything that is not a letter, lower case otherwise. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
            int c = s.codePointAt(i);
            sb.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    /** Python's {@code str.splitlines} (without keepends). */
    static List<Object> splitlines(String s) {
        List<Object> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
                lines.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            lines.add(s.substring(start));
        }
        return lines;
    }

    private static boolean is(String s, String name) {
        if (s.isEmpty()) {
            return false;
        }
        return switch (name) {
            case "isdigit" -> s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> s.codePoints().allMatch(Py::isSpace);
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase) && s.codePoints().noneMatch(Character::isLowerCase);
            default -> s.codePoints().anyMatch(Character::isLowerCase) && s.codePoints().noneMatch(Character::isUpperCase);
        };
    }
}
