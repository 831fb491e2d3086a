package dev.finetune4j.core.tokenizer.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's semantics for the values a template handles, as jinja2 gets them from Python: {@code str()} and
 * {@code repr()}, truthiness, equality and ordering, int/float arithmetic, {@code len}, iteration, indexing and
 * slicing by code point. Values are {@code null} (None), {@link Boolean}, {@link Long}, {@link Double},
 * {@link String}, {@link List} ({@link PyTuple} for tuples), {@link Map}, {@link Undefined}, {@link Namespace}
 * and {@link JinjaFunction}; nothing else ever reaches a template.
 */
final class Py {
    /**
     * The longest text of a list, tuple or dict: its text grows with what its items hold, not with its length, so
     * it is measured while written. The default {@link Limits#maxChars()}: these helpers do not see a render's own.
     */
    private static final int MAX_REPR_CHARS = Limits.DEFAULT.maxChars();
    /** The longest string iterated: each character becomes a string object of about 50 bytes. */
    private static final int MAX_ITERATED_CHARS = Limits.DEFAULT.maxChars() / 16;

    private Py() {
    }

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case Undefined u -> false;
            default -> true;
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case PyTuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Namespace n -> "Namespace";
            case Loop l -> "LoopContext";
            default -> "function";
        };
    }

    /** Python's {@code str(v)}; an undefined value prints as empty. */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> s;
            case Undefined u -> "";
            default -> repr(v);
        };
    }

    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            case String s -> stringRepr(s);
            case PyTuple t -> t.size() == 1 ? "(" + repr(t.get(0)) + ",)" : join(t, "(", ")");
            case List<?> l -> join(l, "[", "]");
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(sb.length() > 1 ? ", " : "").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    checkSize(sb.length(), MAX_REPR_CHARS);
                }
                yield sb.append('}').toString();
            }
            case Undefined u -> "Undefined";
            case Namespace n -> "<Namespace " + repr(n.attributes) + ">";
            case Loop l -> "<LoopContext " + (l.index0() + 1) + "/" + l.items().size() + ">";
            default -> "<function>";
        };
    }

    private static String join(List<?> items, String open, String close) {
        StringBuilder sb = new StringBuilder(open);
        for (int i = 0; i < items.size(); i++) {
            sb.append(i > 0 ? ", " : "").append(repr(items.get(i)));
            checkSize(sb.length(), MAX_REPR_CHARS);
        }
        return sb.append(close).toString();
    }

    /** Python's repr of a str: single quotes unless the text has ' and no ". */
    static String stringRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c == quote) {
                        sb.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append(quote).toString();
    }

    /** Python's repr of a float: the shortest digits that read back, in exponent form below 1e-4 or from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = shortest.precision() - shortest.scale() - 1;
        if (exponent < -4 || exponent >= 16) {
            String digits = shortest.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                    + Math.abs(exponent);
        }
        String plain = shortest.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }

    static boolean eq(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            return a instanceof Double || b instanceof Double ? asDouble(a) == asDouble(b) : asLong(a) == asLong(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size() || (x instanceof PyTuple) != (y instanceof PyTuple)) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        return a == null ? b == null : a.equals(b);
    }

    /** Python's ordering ({@code <} is {@code compare < 0}); refuses what Python refuses, e.g. an int and a str. */
    static int compare(Object a, Object b, String op) {
        if (isNumber(a) && isNumber(b)) {
            return a instanceof Double || b instanceof Double ? Double.compare(asDouble(a), asDouble(b))
                    : Long.compare(asLong(a), asLong(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return Integer.signum(compareCodePoints(x, y));
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw typeError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    private static int compareCodePoints(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Integer.compare(x.length() - i, y.length() - j);
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static long asLong(Object v) {
        return switch (v) {
            case Boolean b -> b ? 1 : 0;
            case Long l -> l;
            case null, default -> throw typeError("'" + typeName(v) + "' object cannot be interpreted as an integer");
        };
    }

    /** An optional text argument: the string, or null for None or absent; {@code what} names it in the error. */
    static String optionalText(Object v, String what) {
        return switch (v) {
            case null -> null;
            case String s -> s;
            default -> throw typeError(what + " must be a string or None, not " + typeName(v));
        };
    }

    static double asDouble(Object v) {
        return v instanceof Double d ? d : asLong(v);
    }

    static TemplateException typeError(String message) {
        return new TemplateException(message, 0);
    }

    static Object add(Object a, Object b, int maxChars) {
        if (isNumber(a) && isNumber(b)) {
            return numeric("+", a, b, Math::addExact, Double::sum);
        }
        if (a instanceof String x && b instanceof String y) {
            checkSize((long) x.length() + y.length(), maxChars);
            return x + y;
        }
        if (a instanceof List<?> x && b instanceof List<?> y && (x instanceof PyTuple) == (y instanceof PyTuple)) {
            checkSize((long) x.size() + y.size(), maxChars);
            List<Object> all = new ArrayList<>(x);
            all.addAll(y);
            return x instanceof PyTuple ? new PyTuple(all) : all.stream().toList();
        }
        if (a instanceof String) {
            throw typeError("can only concatenate str (not \"" + typeName(b) + "\") to str");
        }
        throw unsupported("+", a, b);
    }

    static Object arithmetic(String op, Object a, Object b, int maxChars) {
        return switch (op) {
            case "+" -> add(a, b, maxChars);
            case "-" -> numeric(op, a, b, Math::subtractExact, (x, y) -> x - y);
            case "*" -> multiply(a, b, maxChars);
            case "/" -> {
                requireNumbers(op, a, b);
                if (asDouble(b) == 0) {
                    throw typeError("division by zero");
                }
                yield asDouble(a) / asDouble(b);
            }
            case "//" -> {
                requireNumbers(op, a, b);
                if (asDouble(b) == 0) {
                    throw typeError("integer division or modulo by zero");
                }
                yield a instanceof Double || b instanceof Double ? (Object) Math.floor(asDouble(a) / asDouble(b))
                        : numeric(op, a, b, Math::floorDivExact, null);
            }
            case "%" -> {
                if (a instanceof String) { // Python would format; naming its operands' types would say it cannot
                    throw typeError("printf-style formatting ('...' % values) is not supported; build the text with ~, "
                            + "as in 'Hello ' ~ name");
                }
                requireNumbers(op, a, b);
                if (asDouble(b) == 0) {
                    throw typeError("integer division or modulo by zero");
                }
                if (a instanceof Double || b instanceof Double) {
                    double x = asDouble(a);
                    double y = asDouble(b);
                    double r = x % y;
                    yield r != 0 && (r < 0) != (y < 0) ? r + y : r;
                }
                yield Math.floorMod(asLong(a), asLong(b));
            }
            case "**" -> power(a, b);
            default -> throw new IllegalStateException(op);
        };
    }

    private static void requireNumbers(String op, Object a, Object b) {
        if (!isNumber(a) || !isNumber(b)) {
            throw unsupported(op, a, b);
        }
    }

    private interface LongOp {
        long apply(long a, long b);
    }

    private interface DoubleOp {
        double apply(double a, double b);
    }

    private static Object numeric(String op, Object a, Object b, LongOp ints, DoubleOp floats) {
        requireNumbers(op, a, b);
        if (a instanceof Double || b instanceof Double) {
            return floats.apply(asDouble(a), asDouble(b));
        }
        try {
            return ints.apply(asLong(a), asLong(b));
        } catch (ArithmeticException e) {
            throw typeError("integer result of " + repr(a) + " " + op + " " + repr(b) + " is beyond 64 bits");
        }
    }

    private static Object multiply(Object a, Object b, int maxChars) {
        if ((a instanceof String || a instanceof List) && (b instanceof Long || b instanceof Boolean)) {
            return repeat(a, asLong(b), maxChars);
        }
        if ((b instanceof String || b instanceof List) && (a instanceof Long || a instanceof Boolean)) {
            return repeat(b, asLong(a), maxChars);
        }
        return numeric("*", a, b, Math::multiplyExact, (x, y) -> x * y);
    }

    /** {@code s * n}, its size checked before anything is allocated. */
    private static Object repeat(Object s, long n, int maxChars) {
        long unit = s instanceof String text ? text.length() : ((List<?>) s).size();
        long count = Math.max(0, n);
        checkSize(unit == 0 ? 0 : count > Long.MAX_VALUE / unit ? Long.MAX_VALUE : unit * count, maxChars);
        if (s instanceof String text) {
            return text.repeat((int) count);
        }
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            out.addAll((List<?>) s);
        }
        return s instanceof PyTuple ? new PyTuple(out) : out.stream().toList();
    }

    private static Object power(Object a, Object b) {
        requireNumbers("**", a, b);
        if (asDouble(a) == 0 && asDouble(b) < 0) {
            throw typeError("0.0 cannot be raised to a negative power");
        }
        if (a instanceof Double || b instanceof Double || asLong(b) < 0) {
            return Math.pow(asDouble(a), asDouble(b));
        }
        long base = asLong(a);
        long exponent = asLong(b);
        if (base == 0 || base == 1 || base == -1) { // the only bases whose powers stay in 64 bits for every exponent
            return exponent == 0 ? 1L : base == -1 && exponent % 2 == 0 ? 1L : base;
        }
        long result = 1;
        try {
            for (long e = exponent; e > 0; e--) {
                result = Math.multiplyExact(result, base);
            }
        } catch (ArithmeticException e) {
            throw typeError("integer result of " + base + " ** " + asLong(b) + " is beyond 64 bits");
        }
        return result;
    }

    static Object negate(Object v) {
        if (v instanceof Double d) {
            return -d;
        }
        if (isNumber(v)) {
            if (asLong(v) == Long.MIN_VALUE) {
                throw typeError("integer result of -(" + v + ") is beyond 64 bits");
            }
            return -asLong(v);
        }
        throw typeError("bad operand type for unary -: '" + typeName(v) + "'");
    }

    static Object abs(Object v) {
        if (v instanceof Double d) {
            return Math.abs(d);
        }
        if (isNumber(v)) {
            return asLong(v) < 0 ? negate(v) : asLong(v);
        }
        throw typeError("bad operand type for abs(): '" + typeName(v) + "'");
    }

    private static TemplateException unsupported(String op, Object a, Object b) {
        return typeError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    static void checkSize(long size, int maxChars) {
        if (size > maxChars) {
            throw new TemplateException("the template builds a string or list of " + size + " items, beyond the limit of "
                    + maxChars + " (Limits.maxChars); a chat template never needs that much", 0);
        }
    }

    static int len(Object v) {
        return switch (v) {
            case null -> throw typeError("object of type 'NoneType' has no len()");
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            default -> throw typeError("object of type '" + typeName(v) + "' has no len()");
        };
    }

    /** What {@code for x in v} visits: items, dict keys, code points; an undefined value is empty. */
    static List<Object> iterate(Object v) {
        return switch (v) {
            case null -> throw typeError("'NoneType' object is not iterable");
            case List<?> l -> new ArrayList<Object>(l);
            case Map<?, ?> m -> new ArrayList<Object>(m.keySet());
            case String s -> {
                if (s.length() > MAX_ITERATED_CHARS) {
                    throw typeError("the template iterates a string of " + s.length() + " characters, one string object each;"
                            + " at most " + MAX_ITERATED_CHARS + " may be iterated (a chat template iterates short strings)");
                }
                yield s.codePoints().mapToObj(Character::toString).map(Object.class::cast).toList();
            }
            case Undefined u -> List.of();
            default -> throw typeError("'" + typeName(v) + "' object is not iterable");
        };
    }

    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            if (!(item instanceof String sub)) {
                throw typeError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return s.contains(sub);
        }
        if (container instanceof Map<?, ?> m) {
            return m.containsKey(item) || item instanceof Double d && d == Math.rint(d) && m.containsKey(d.longValue());
        }
        for (Object x : iterate(container)) {
            if (eq(x, item)) {
                return true;
            }
        }
        return false;
    }

    /** {@code s[i]} by code point, {@code i} negative from the end, or null when out of range. */
    static String codePointAt(String s, long i) {
        int n = s.codePointCount(0, s.length());
        long at = i < 0 ? i + n : i;
        if (at < 0 || at >= n) {
            return null;
        }
        int offset = s.offsetByCodePoints(0, (int) at);
        return Character.toString(s.codePointAt(offset));
    }

    /** Python's {@code seq[start:stop:step]} on a string (by code point) or a list; null bounds are omitted ones. */
    static Object slice(Object seq, Long start, Long stop, Long step) {
        long st = step == null ? 1 : step;
        if (st == 0) {
            throw typeError("slice step cannot be zero");
        }
        List<Object> items = seq instanceof String s ? iterate(s) : seq instanceof List<?> ? iterate(seq) : null;
        if (items == null) {
            throw typeError("'" + typeName(seq) + "' object is not subscriptable");
        }
        int n = items.size();
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(start, n, 0, n);
            hi = stop == null ? n : clamp(stop, n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(start, n, -1, n - 1);
            hi = stop == null ? -1 : clamp(stop, n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            out.add(items.get((int) i));
        }
        if (seq instanceof String) {
            StringBuilder sb = new StringBuilder();
            out.forEach(c -> sb.append((String) c));
            return sb.toString();
        }
        return seq instanceof PyTuple ? new PyTuple(out) : out.stream().toList();
    }

    private static long clamp(long i, int n, long min, long max) {
        long at = i < 0 ? i + n : i;
        return Math.max(min, Math.min(max, at));
    }

    /** Python's {@code str.isspace} for one character: Java's whitespace plus no-break spaces and U+0085. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    /** Python's {@code str.strip(chars)}; {@code chars} null strips whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && stripped(s.codePointAt(from), chars)) {
            from += Character.charCount(s.codePointAt(from));
        }
        while (right && to > from && stripped(s.codePointBefore(to), chars)) {
            to -= Character.charCount(s.codePointBefore(to));
        }
        return s.substring(from, to);
    }

    private static boolean stripped(int c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0;
    }
}
