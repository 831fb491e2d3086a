package dev.finetune4j.core.generate.json;

import dev.finetune4j.core.generate.json.GrammarNode.ArrayNode;
import dev.finetune4j.core.generate.json.GrammarNode.LiteralNode;
import dev.finetune4j.core.generate.json.GrammarNode.NumberNode;
import dev.finetune4j.core.generate.json.GrammarNode.ObjectMap;
import dev.finetune4j.core.generate.json.GrammarNode.ObjectRecord;
import dev.finetune4j.core.generate.json.GrammarNode.StringNode;
import dev.finetune4j.core.generate.json.GrammarNode.UnionNode;
import dev.finetune4j.core.generate.json.JsonState.Out;
import dev.finetune4j.core.generate.json.JsonState.Stack;

/**
 * The recognizer's frames and how each takes one byte. A frame is an immutable record: a step builds new frames
 * and shares the stack below. Whitespace between tokens follows {@link JsonGrammar#MAX_WHITESPACE_SPACES}'s rule.
 */
final class Frames {
    private final int maxDepth;

    Frames(JsonGrammar grammar) {
        this.maxDepth = grammar.maxDepth();
    }

    /** The free string shape of object keys in maps. */
    static final StringNode ANY_KEY = new StringNode(0, Integer.MAX_VALUE);

    sealed interface Frame permits Root, Value, Obj, Arr, Str, Num, Lit {
    }

    /** The bottom of every stack: {@code finished} once the top-level value is complete. */
    record Root(boolean finished) implements Frame {
    }

    /** Before a value of {@code node} (the root, or after a key's colon), with {@code ws} whitespace seen. */
    record Value(GrammarNode node, int ws) implements Frame {
    }

    /** Inside an object ({@link ObjectRecord} or {@link ObjectMap}); {@code index} is the next or current property. */
    record Obj(GrammarNode node, int phase, int index, int ws) implements Frame {
    }

    /** Inside an array, after {@code count} items. */
    record Arr(ArrayNode node, int phase, int count, int ws) implements Frame {
    }

    /**
     * Inside a string after {@code chars} characters. mode 0: text ({@code need} UTF-8 continuation bytes still due,
     * the next in [lo, hi]); 1: after a backslash; 2: in {@code \\uXXXX} with {@code need} hex digits due and the
     * value so far in {@code acc}; 3, 4, 5: after a high surrogate, expecting backslash, 'u', then a low surrogate's
     * four digits.
     */
    record Str(StringNode node, int chars, int mode, int acc, int need, int lo, int hi) implements Frame {
    }

    /** Inside a number, in one of the phases below. */
    record Num(NumberNode node, int phase) implements Frame {
    }

    /**
     * Inside one of several exact texts ({@code options[lo..hi]}), after {@code len} bytes equal to the first
     * {@code len} of {@code options[witness]}. {@code owner} is set for an object's keys.
     */
    record Lit(byte[][] options, ObjectRecord owner, int lo, int hi, int len, int witness) implements Frame {
    }

    // object phases
    static final int OPEN = 0, KEY = 1, WAIT = 2, AFTER = 3, COMMA = 4;
    // number phases
    static final int START = 0, MINUS = 1, ZERO = 2, INT = 3, DOT = 4, FRAC = 5, EXP_MARK = 6, EXP_SIGN = 7, EXP = 8;
    // whitespace run: spaces and tabs in the low byte, then flags
    private static final int NEWLINE = 1 << 8, CR = 1 << 9;

    Stack[] step(Stack s, int b) {
        Out out = new Out();
        stepInto(s, b, out);
        return out.list.toArray(Stack[]::new);
    }

    private void stepInto(Stack s, int b, Out out) {
        switch (s.frame()) {
            case Root r -> {
                // nothing follows the complete value, not even whitespace
            }
            case Value v -> {
                if (isWhitespace(b)) {
                    int ws = nextWhitespace(v.ws(), b);
                    if (ws >= 0) {
                        out.add(s.replaceTop(new Value(v.node(), ws)));
                    }
                } else if ((v.ws() & CR) == 0) {
                    startValue(s.below(), v.node(), b, out);
                }
            }
            case Obj o -> stepObject(s, o, b, out);
            case Arr a -> stepArray(s, a, b, out);
            case Str t -> stepString(s, t, b, out);
            case Num n -> stepNumber(s, n, b, out);
            case Lit l -> stepLiteral(s, l, b, out);
        }
    }

    /** Begins a value of {@code node} on top of {@code below} with its first byte {@code b}. */
    private void startValue(Stack below, GrammarNode node, int b, Out out) {
        node = GrammarNode.resolve(node);
        if (below.depth() + node.minDepth > maxDepth) {
            return;
        }
        switch (node) {
            case UnionNode u -> {
                for (GrammarNode alt : u.alternatives) {
                    startValue(below, alt, b, out);
                }
            }
            case ObjectRecord r -> {
                if (b == '{') {
                    out.add(below.push(new Obj(r, OPEN, 0, 0), true));
                }
            }
            case ObjectMap m -> {
                if (b == '{') {
                    out.add(below.push(new Obj(m, OPEN, 0, 0), true));
                }
            }
            case ArrayNode a -> {
                if (b == '[') {
                    out.add(below.push(new Arr(a, OPEN, 0, 0), true));
                }
            }
            case StringNode t -> {
                if (b == '"') {
                    out.add(below.push(new Str(t, 0, 0, 0, 0, 0, 0), false));
                }
            }
            case NumberNode n -> stepNumber(below.push(new Num(n, START), false), new Num(n, START), b, out);
            case LiteralNode l -> {
                Lit lit = new Lit(l.options, null, 0, l.options.length - 1, 0, -1);
                stepLiteral(below.push(lit, false), lit, b, out);
            }
            case GrammarNode.RefNode ref -> throw new IllegalStateException("unresolved $ref " + ref.pointer);
        }
    }

    private void stepObject(Stack s, Obj o, int b, Out out) {
        if (isWhitespace(b)) {
            if (o.phase() != WAIT) {
                int ws = nextWhitespace(o.ws(), b);
                if (ws >= 0) {
                    out.add(s.replaceTop(new Obj(o.node(), o.phase(), o.index(), ws)));
                }
            }
            return;
        }
        if ((o.ws() & CR) != 0) {
            return;
        }
        switch (o.phase()) {
            case OPEN, COMMA -> {
                if (b == '}' && o.phase() == OPEN && mayClose(o)) {
                    out.add(finish(s));
                } else if (b == '"') {
                    if (o.node() instanceof ObjectRecord r) {
                        int hi = keyRangeEnd(r, o.index());
                        if (o.index() <= hi) {
                            Lit key = new Lit(r.keys, r, o.index(), hi, 0, -1);
                            stepLiteral(s.push(key, false), key, b, out);
                        }
                    } else if (valueFits(((ObjectMap) o.node()).values, s.depth())) {
                        out.add(s.push(new Str(ANY_KEY, 0, 0, 0, 0, 0, 0), false));
                    }
                }
            }
            case KEY -> {
                if (b == ':') {
                    GrammarNode value = o.node() instanceof ObjectRecord r ? r.values[o.index()] : ((ObjectMap) o.node()).values;
                    out.add(s.replaceTop(new Obj(o.node(), WAIT, o.index(), 0)).push(new Value(value, 0), false));
                }
            }
            case AFTER -> {
                if (b == '}' && mayClose(o)) {
                    out.add(finish(s));
                } else if (b == ',' && mayContinue(o, s.depth())) {
                    out.add(s.replaceTop(new Obj(o.node(), COMMA, o.index(), 0)));
                }
            }
            default -> {
                // WAIT: a child frame is on top, never this one
            }
        }
    }

    /** The last property index a key may name at {@code from}: up to and including the next required one. */
    private static int keyRangeEnd(ObjectRecord r, int from) {
        return Math.min(r.nextRequired[from], r.names.length - 1);
    }

    private static boolean mayClose(Obj o) {
        return !(o.node() instanceof ObjectRecord r) || r.nextRequired[o.index()] == r.names.length;
    }

    private boolean mayContinue(Obj o, int depth) {
        if (o.node() instanceof ObjectRecord r) {
            for (int k = o.index(); k <= keyRangeEnd(r, o.index()); k++) {
                if (valueFits(r.values[k], depth)) {
                    return true;
                }
            }
            return false;
        }
        return valueFits(((ObjectMap) o.node()).values, depth);
    }

    /** Whether a value of {@code node} placed inside a container at {@code depth} can be completed. */
    private boolean valueFits(GrammarNode node, int depth) {
        return depth + GrammarNode.resolve(node).minDepth <= maxDepth;
    }

    private void stepArray(Stack s, Arr a, int b, Out out) {
        if (isWhitespace(b)) {
            if (a.phase() != WAIT) {
                int ws = nextWhitespace(a.ws(), b);
                if (ws >= 0) {
                    out.add(s.replaceTop(new Arr(a.node(), a.phase(), a.count(), ws)));
                }
            }
            return;
        }
        if ((a.ws() & CR) != 0) {
            return;
        }
        ArrayNode node = a.node();
        switch (a.phase()) {
            case OPEN -> {
                if (b == ']' && node.minItems == 0) {
                    out.add(finish(s));
                } else if (node.maxItems > 0) {
                    startValue(s.replaceTop(new Arr(node, WAIT, a.count(), 0)), node.items, b, out);
                }
            }
            case AFTER -> {
                if (b == ']' && a.count() >= node.minItems) {
                    out.add(finish(s));
                } else if (b == ',' && a.count() < node.maxItems && valueFits(node.items, s.depth())) {
                    out.add(s.replaceTop(new Arr(node, COMMA, a.count(), 0)));
                }
            }
            case COMMA -> startValue(s.replaceTop(new Arr(node, WAIT, a.count(), 0)), node.items, b, out);
            default -> {
                // WAIT: an item is on top
            }
        }
    }

    private void stepString(Stack s, Str t, int b, Out out) {
        StringNode node = t.node();
        int chars = t.chars();
        switch (t.mode()) {
            case 0 -> {
                if (t.need() > 0) {
                    if (b >= t.lo() && b <= t.hi()) {
                        int need = t.need() - 1;
                        out.add(s.replaceTop(new Str(node, chars, 0, 0, need, need == 0 ? 0 : 0x80, need == 0 ? 0 : 0xBF)));
                    }
                } else if (b == '"') {
                    if (chars >= node.minLength) {
                        out.add(finish(s));
                    }
                } else if (chars < node.maxLength && b >= 0x20) {
                    if (b == '\\') {
                        out.add(s.replaceTop(new Str(node, chars, 1, 0, 0, 0, 0)));
                    } else if (b < 0x80) {
                        out.add(s.replaceTop(new Str(node, chars + 1, 0, 0, 0, 0, 0)));
                    } else {
                        int[] lead = utf8Lead(b);
                        if (lead != null) {
                            out.add(s.replaceTop(new Str(node, chars + 1, 0, 0, lead[0], lead[1], lead[2])));
                        }
                    }
                }
            }
            case 1 -> {
                if (b == 'u') {
                    out.add(s.replaceTop(new Str(node, chars, 2, 0, 4, 0, 0)));
                } else if ("\"\\/bfnrt".indexOf(b) >= 0) {
                    out.add(s.replaceTop(new Str(node, chars + 1, 0, 0, 0, 0, 0)));
                }
            }
            case 2 -> {
                int v = hex(b);
                if (v < 0) {
                    return;
                }
                int acc = t.acc() * 16 + v;
                int need = t.need() - 1;
                if (need == 2 && acc >= 0xDC && acc <= 0xDF) {
                    return; // a low surrogate with no high one before it
                }
                if (need > 0) {
                    out.add(s.replaceTop(new Str(node, chars, 2, acc, need, 0, 0)));
                } else if (acc >= 0xD800 && acc <= 0xDBFF) {
                    out.add(s.replaceTop(new Str(node, chars, 3, 0, 0, 0, 0)));
                } else {
                    out.add(s.replaceTop(new Str(node, chars + 1, 0, 0, 0, 0, 0)));
                }
            }
            case 3 -> {
                if (b == '\\') {
                    out.add(s.replaceTop(new Str(node, chars, 4, 0, 0, 0, 0)));
                }
            }
            case 4 -> {
                if (b == 'u') {
                    out.add(s.replaceTop(new Str(node, chars, 5, 0, 4, 0, 0)));
                }
            }
            default -> {
                int v = hex(b);
                int position = 4 - t.need();
                boolean ok = v >= 0 && (position != 0 || v == 0xD) && (position != 1 || v >= 0xC);
                if (ok) {
                    int need = t.need() - 1;
                    out.add(s.replaceTop(need == 0 ? new Str(node, chars + 1, 0, 0, 0, 0, 0) : new Str(node, chars, 5, 0, need, 0, 0)));
                }
            }
        }
    }

    /**
     * For a UTF-8 lead byte: {continuation bytes due, lowest and highest allowed next byte} (RFC 3629: no overlong
     * forms, no surrogates, nothing above U+10FFFF), or null when {@code b} cannot start a character.
     */
    static int[] utf8Lead(int b) {
        if (b >= 0xC2 && b <= 0xDF) {
            return new int[]{1, 0x80, 0xBF};
        } else if (b == 0xE0) {
            return new int[]{2, 0xA0, 0xBF};
        } else if (b == 0xED) {
            return new int[]{2, 0x80, 0x9F};
        } else if (b >= 0xE1 && b <= 0xEF) {
            return new int[]{2, 0x80, 0xBF};
        } else if (b == 0xF0) {
            return new int[]{3, 0x90, 0xBF};
        } else if (b >= 0xF1 && b <= 0xF3) {
            return new int[]{3, 0x80, 0xBF};
        } else if (b == 0xF4) {
            return new int[]{3, 0x80, 0x8F};
        }
        return null;
    }

    private static int hex(int b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        } else if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        } else if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    private void stepNumber(Stack s, Num n, int b, Out out) {
        boolean integer = n.node().integer;
        boolean digit = b >= '0' && b <= '9';
        boolean exponent = !integer && (b == 'e' || b == 'E');
        int next = switch (n.phase()) {
            case START -> b == '-' ? MINUS : b == '0' ? ZERO : digit ? INT : -1;
            case MINUS -> b == '0' ? ZERO : digit ? INT : -1;
            case ZERO -> b == '.' && !integer ? DOT : exponent ? EXP_MARK : -1;
            case INT -> digit ? INT : b == '.' && !integer ? DOT : exponent ? EXP_MARK : -1;
            case DOT -> digit ? FRAC : -1;
            case FRAC -> digit ? FRAC : exponent ? EXP_MARK : -1;
            case EXP_MARK -> b == '+' || b == '-' ? EXP_SIGN : digit ? EXP : -1;
            default -> digit ? EXP : -1;
        };
        if (next >= 0) {
            out.add(s.replaceTop(new Num(n.node(), next)));
        }
        if (numberCanEnd(n)) {
            stepInto(finish(s), b, out);
        }
    }

    private static boolean numberCanEnd(Num n) {
        int p = n.phase();
        return p == ZERO || p == INT || p == FRAC || p == EXP;
    }

    private void stepLiteral(Stack s, Lit l, int b, Out out) {
        int depth = s.depth();
        for (int k = l.lo(); k <= l.hi(); k++) {
            byte[] o = l.options()[k];
            if (o.length > l.len() && (o[l.len()] & 0xFF) == b && matchesPrefix(l, k, depth)) {
                Stack next = s.replaceTop(new Lit(l.options(), l.owner(), l.lo(), l.hi(), l.len() + 1, k));
                Lit nl = (Lit) next.frame();
                out.add(exactOption(nl, depth) >= 0 && !extendable(nl, depth) ? finish(next) : next);
                break;
            }
        }
        if (exactOption(l, depth) >= 0) {
            stepInto(finish(s), b, out);
        }
    }

    /** Whether option k is usable and starts with the {@code len} bytes matched so far. */
    private boolean matchesPrefix(Lit l, int k, int depth) {
        if (l.owner() != null && !valueFits(l.owner().values[k], depth)) {
            return false;
        }
        if (l.witness() < 0 || l.witness() == k) {
            return true;
        }
        return java.util.Arrays.equals(l.options()[k], 0, l.len(), l.options()[l.witness()], 0, l.len());
    }

    /** The option equal to the bytes matched so far, or -1. Keys and quoted strings are prefix-free; numbers are not. */
    private int exactOption(Lit l, int depth) {
        if (l.len() == 0) {
            return -1;
        }
        for (int k = l.lo(); k <= l.hi(); k++) {
            if (l.options()[k].length == l.len() && matchesPrefix(l, k, depth)) {
                return k;
            }
        }
        return -1;
    }

    private boolean extendable(Lit l, int depth) {
        for (int k = l.lo(); k <= l.hi(); k++) {
            if (l.options()[k].length > l.len() && matchesPrefix(l, k, depth)) {
                return true;
            }
        }
        return false;
    }

    /** Pops the finished top frame and tells its parent that the value or key is done. */
    private Stack finish(Stack s) {
        Stack parent = s.below();
        Frame done = s.frame();
        Frame next = switch (parent.frame()) {
            case Root r -> new Root(true);
            case Obj o when o.phase() == OPEN || o.phase() == COMMA ->
                    new Obj(o.node(), KEY, done instanceof Lit key ? exactOption(key, s.depth()) : 0, 0);
            case Obj o -> new Obj(o.node(), AFTER, o.index() + 1, 0);
            case Arr a -> new Arr(a.node(), AFTER, a.count() + 1, 0);
            default -> throw new IllegalStateException("a value finished inside " + parent.frame());
        };
        return parent.replaceTop(next);
    }

    /** Whether the output may end here: the value is complete, or a number or literal that may end is on top. */
    boolean canEndOutput(Stack s) {
        return switch (s.frame()) {
            case Root r -> r.finished();
            case Num n -> numberCanEnd(n) && canEndOutput(finish(s));
            case Lit l -> exactOption(l, s.depth()) >= 0 && canEndOutput(finish(s));
            default -> false;
        };
    }

    private static boolean isWhitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }

    /**
     * The whitespace run after one more byte, or -1 past the limit: at most one line break ({@code \n} or
     * {@code \r\n}) and at most {@link JsonGrammar#MAX_WHITESPACE_SPACES} spaces or tabs.
     */
    private static int nextWhitespace(int ws, int b) {
        boolean cr = (ws & CR) != 0;
        if (b == '\r') {
            return cr || (ws & NEWLINE) != 0 ? -1 : ws | CR;
        }
        if (b == '\n') {
            return (ws & NEWLINE) != 0 ? -1 : (ws & ~CR) | NEWLINE;
        }
        if (cr || (ws & 0xFF) >= JsonGrammar.MAX_WHITESPACE_SPACES) {
            return -1;
        }
        return ws + 1;
    }
}
