package dev.finetune4j.core.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * jinja2's built-in filters that chat templates use, plus transformers' {@code tojson}. As in jinja2, those that
 * iterate see an undefined value as empty; those that compute with it ({@code abs}, {@code round}...) fail.
 */
final class Filters {
    static final Set<String> NAMES = Set.of("abs", "capitalize", "count", "d", "default", "first", "float", "indent",
            "int", "items", "join", "last", "length", "list", "lower", "map", "reject", "rejectattr", "replace",
            "reverse", "round", "safe", "select", "selectattr", "sort", "string", "title", "tojson", "trim", "unique",
            "upper", "wordcount", "e", "escape", "max", "min", "sum", "dictsort");
    private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);

    private Filters() {
    }

    static Object apply(Interpreter in, String name, Object value, List<Object> args, Map<String, Object> kwargs) {
        Args a = new Args(args, kwargs);
        return switch (name) {
            case "default", "d" -> {
                Object fallback = a.get(0, "default_value", "");
                boolean bool = Py.truthy(a.get(1, "boolean", false));
                yield value instanceof Undefined || bool && !Py.truthy(value) ? fallback : value;
            }
            case "length", "count" -> (long) Py.len(value);
            case "string" -> Py.str(value);
            case "safe", "e", "escape" -> name.equals("safe") ? value : escape(Py.str(value));
            case "trim" -> Py.strip(Py.str(value), Py.optionalText(a.get(0, "chars", null), "trim's chars"), true, true);
            case "upper" -> Py.str(value).toUpperCase(Locale.ROOT);
            case "lower" -> Py.str(value).toLowerCase(Locale.ROOT);
            case "capitalize" -> {
                String s = Py.str(value);
                yield s.isEmpty() ? s : s.substring(0, s.offsetByCodePoints(0, 1)).toUpperCase(Locale.ROOT)
                        + s.substring(s.offsetByCodePoints(0, 1)).toLowerCase(Locale.ROOT);
            }
            case "title" -> title(Py.str(value));
            case "replace" -> Methods.replace(Py.str(value), Py.str(a.get(0, "old", null)), Py.str(a.get(1, "new", null)),
                    a.get(2, "count", null) == null ? -1 : Py.asLong(a.get(2, "count", null)), in.limits.maxChars());
            case "first", "last" -> {
                List<Object> items = Py.iterate(value);
                yield items.isEmpty() ? new Undefined("No " + name + " item, sequence was empty.")
                        : items.get(name.equals("first") ? 0 : items.size() - 1);
            }
            case "join" -> join(in, value, Py.str(a.get(0, "d", "")), Py.optionalText(a.get(1, "attribute", null), "join's attribute"));
            case "items" -> value instanceof Undefined ? List.of() : value instanceof Map<?, ?> m ? Methods.items(m)
                    : fail("Can only get item pairs from a mapping. The items filter got a " + Py.typeName(value) + ".");
            case "list" -> Py.iterate(value);
            case "selectattr", "rejectattr", "select", "reject" -> select(in, name, value, args);
            case "map" -> map(in, value, args, kwargs);
            case "indent" -> indent(Py.str(value), a.get(0, "width", 4L), Py.truthy(a.get(1, "first", false)),
                    Py.truthy(a.get(2, "blank", false)), in.limits.maxChars());
            case "int" -> toInt(value, a.get(0, "default", 0L));
            case "float" -> toFloat(value, a.get(0, "default", 0.0));
            case "abs" -> Py.abs(in.defined(value));
            case "round" -> round(in.defined(value), Py.asLong(a.get(0, "precision", 0L)), Py.str(a.get(1, "method", "common")));
            case "unique" -> unique(value, Py.truthy(a.get(0, "case_sensitive", false)),
                    Py.optionalText(a.get(1, "attribute", null), "unique's attribute"));
            case "sort" -> sort(in, value, Py.truthy(a.get(0, "reverse", false)), Py.truthy(a.get(1, "case_sensitive", false)),
                    Py.optionalText(a.get(2, "attribute", null), "sort's attribute"));
            case "dictsort" -> {
                if (!(in.defined(value) instanceof Map<?, ?> m)) {
                    yield fail("dictsort needs a dict, got " + Py.typeName(value));
                }
                boolean caseSensitive = Py.truthy(a.get(0, "case_sensitive", false));
                Object by = a.get(1, "by", "key");
                if (!"key".equals(by) && !"value".equals(by)) {
                    yield fail("You can only sort by either \"key\" or \"value\"");
                }
                int part = "key".equals(by) ? 0 : 1;
                Comparator<Object> order = Comparator.comparing(t -> ((List<?>) t).get(part),
                        (x, y) -> Py.compare(sortKey(x, caseSensitive), sortKey(y, caseSensitive), "<"));
                List<Object> items = new ArrayList<>(Methods.items(m));
                items.sort(Py.truthy(a.get(2, "reverse", false)) ? order.reversed() : order);
                yield items;
            }
            case "reverse" -> value instanceof String s ? new StringBuilder(s).reverse().toString()
                    : new ArrayList<>(Py.iterate(in.defined(value)).reversed());
            case "wordcount" -> {
                Matcher m = WORD.matcher(Py.str(value));
                long n = 0;
                while (m.find()) {
                    n++;
                }
                yield n;
            }
            case "max", "min" -> {
                List<Object> items = Py.iterate(value);
                if (items.isEmpty()) {
                    yield new Undefined("No aggregated item, sequence was empty.");
                }
                Object best = items.getFirst();
                for (Object x : items) {
                    int c = Py.compare(sortKey(x, false), sortKey(best, false), "<");
                    best = name.equals("max") ? (c > 0 ? x : best) : (c < 0 ? x : best);
                }
                yield best;
            }
            case "sum" -> {
                Object total = a.get(1, "start", 0L);
                for (Object x : Py.iterate(value)) {
                    Object item = a.get(0, "attribute", null) == null ? x : Attributes.get(x, Py.str(a.get(0, "attribute", null)), in.line());
                    total = Py.add(total, item, in.limits.maxChars());
                }
                yield total;
            }
            case "tojson" -> Json.dumps(value, Py.truthy(a.get(0, "ensure_ascii", false)), a.get(1, "indent", null), a.get(2, "separators", null),
                    Py.truthy(a.get(3, "sort_keys", false)), in.limits.maxChars());
            default -> throw new IllegalStateException("the parser accepted the unknown filter " + name);
        };
    }

    /** A filter's arguments, by position or keyword, as Python binds them. */
    private record Args(List<Object> args, Map<String, Object> kwargs) {
        Object get(int position, String keyword, Object fallback) {
            return position < args.size() ? args.get(position) : kwargs.getOrDefault(keyword, fallback);
        }
    }

    private static Object fail(String message) {
        throw Py.typeError(message);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;").replace("'", "&#39;");
    }

    /** jinja2's {@code title} filter: upper case at each word start (after - space ( { [ <), lower case elsewhere. */
    private static String title(String s) {
        StringBuilder sb = new StringBuilder();
        Matcher m = WORD_BEGINNING.matcher(s);
        int from = 0;
        while (m.find()) {
            word(sb, s.substring(from, m.start()));
            sb.append(m.group());
            from = m.end();
        }
        word(sb, s.substring(from));
        return sb.toString();
    }

    private static void word(StringBuilder sb, String item) {
        if (!item.isEmpty()) {
            int first = item.offsetByCodePoints(0, 1);
            sb.append(item.substring(0, first).toUpperCase(Locale.ROOT)).append(item.substring(first).toLowerCase(Locale.ROOT));
        }
    }

    private static String join(Interpreter in, Object value, String separator, String attribute) {
        StringBuilder sb = new StringBuilder();
        List<Object> items = Py.iterate(value);
        for (int i = 0; i < items.size(); i++) {
            String part = Py.str(attribute == null ? items.get(i) : Attributes.get(items.get(i), attribute, in.line()));
            Py.checkSize((long) sb.length() + separator.length() + part.length(), in.limits.maxChars());
            sb.append(i > 0 ? separator : "").append(part);
        }
        return sb.toString();
    }

    /** select/reject(test, args...) and selectattr/rejectattr(attribute, test, args...); no test means truthiness. */
    private static Object select(Interpreter in, String name, Object value, List<Object> args) {
        boolean byAttribute = name.endsWith("attr");
        boolean keep = name.startsWith("select");
        if (byAttribute && args.isEmpty()) {
            throw Py.typeError(name + " needs the attribute to test");
        }
        String attribute = byAttribute ? Py.str(args.get(0)) : null;
        int testAt = byAttribute ? 1 : 0;
        String test = args.size() > testAt ? Py.str(args.get(testAt)) : null;
        if (test != null && !Tests.NAMES.contains(test)) {
            throw Py.typeError("no test named '" + test + "'");
        }
        List<Object> testArgs = args.size() > testAt + 1 ? args.subList(testAt + 1, args.size()) : List.of();
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(value)) {
            Object subject = attribute == null ? item : Attributes.get(item, attribute, in.line());
            boolean passes = test == null ? Py.truthy(subject) : Tests.apply(test, subject, testArgs);
            if (passes == keep) {
                out.add(item);
            }
        }
        return out;
    }

    /** map(attribute='x', default=...) or map('filter', args...). */
    private static Object map(Interpreter in, Object value, List<Object> args, Map<String, Object> kwargs) {
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(value)) {
            if (kwargs.containsKey("attribute")) {
                Object v = Attributes.get(item, Py.str(kwargs.get("attribute")), in.line());
                out.add(v instanceof Undefined && kwargs.containsKey("default") ? kwargs.get("default") : v);
            } else if (!args.isEmpty() && args.getFirst() instanceof String filter && NAMES.contains(filter)) {
                out.add(apply(in, filter, item, args.subList(1, args.size()), Map.of()));
            } else {
                throw Py.typeError("map needs attribute='name' or the name of a filter");
            }
        }
        return out;
    }

    private static String indent(String s, Object width, boolean first, boolean blank, int maxChars) {
        String indentation = width instanceof String w ? w : " ".repeat((int) Math.max(0, Math.min(Py.asLong(width), maxChars)));
        List<Object> lines = Methods.splitlines(s + "\n");
        Py.checkSize(s.length() + (long) (lines.size() + 1) * indentation.length(), maxChars);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            String line = (String) lines.get(i);
            if (i > 0) {
                sb.append('\n').append(blank || !line.isEmpty() ? indentation : "");
            }
            sb.append(line);
        }
        return (first ? indentation : "") + sb;
    }

    private static Object toInt(Object value, Object fallback) {
        return switch (value) {
            case null -> fallback;
            case Long l -> l;
            case Boolean b -> b ? 1L : 0L;
            case Double d -> Double.isFinite(d) ? (Object) (long) (double) d : fallback;
            case String s -> {
                try {
                    yield Long.parseLong(s.strip().replace("_", ""));
                } catch (NumberFormatException e) {
                    try {
                        double d = Double.parseDouble(s.strip());
                        yield Double.isFinite(d) ? (Object) (long) d : fallback;
                    } catch (NumberFormatException e2) {
                        yield fallback;
                    }
                }
            }
            default -> fallback;
        };
    }

    private static Object toFloat(Object value, Object fallback) {
        if (Py.isNumber(value)) {
            return Py.asDouble(value);
        }
        if (value instanceof String s) {
            try {
                return Double.parseDouble(s.strip());
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
        return fallback;
    }

    /** jinja2's round: Python's round-half-even on the exact value ("common"), or ceil/floor; a float result. */
    private static Object round(Object value, long precision, String method) {
        if (!Py.isNumber(value)) {
            throw Py.typeError("round needs a number, got " + Py.typeName(value));
        }
        if (method.equals("common") && !(value instanceof Double)) {
            return Py.asLong(value);
        }
        RoundingMode mode = switch (method) {
            case "common" -> RoundingMode.HALF_EVEN;
            case "ceil" -> RoundingMode.CEILING;
            case "floor" -> RoundingMode.FLOOR;
            default -> throw Py.typeError("method must be common, ceil or floor, not " + method);
        };
        double d = Py.asDouble(value);
        if (!Double.isFinite(d)) {
            return d;
        }
        return new BigDecimal(d).setScale((int) Math.max(-400, Math.min(400, precision)), mode).doubleValue();
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
    }

    private static Object unique(Object value, boolean caseSensitive, String attribute) {
        List<Object> out = new ArrayList<>();
        Set<Object> seen = new LinkedHashSet<>();
        for (Object item : Py.iterate(value)) {
            Object key = sortKey(attribute == null ? item : Attributes.get(item, attribute, 0), caseSensitive);
            if (seen.add(key == null ? List.of() : key)) {
                out.add(item);
            }
        }
        return out;
    }

    private static Object sort(Interpreter in, Object value, boolean reverse, boolean caseSensitive, String attribute) {
        List<Object> items = new ArrayList<>(Py.iterate(value));
        Comparator<Object> order = (x, y) -> Py.compare(
                sortKey(attribute == null ? x : Attributes.get(x, attribute, in.line()), caseSensitive),
                sortKey(attribute == null ? y : Attributes.get(y, attribute, in.line()), caseSensitive), "<");
        items.sort(reverse ? order.reversed() : order);
        return items;
    }
}
