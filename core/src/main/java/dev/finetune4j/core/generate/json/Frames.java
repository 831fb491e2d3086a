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
     * Inside a string after {@code chars} characters; {@code state} packs where in a character or escape it is (see
     * {@link #stepString(StringNode, int, int, int)}). Modes: 0 text ({@code need} UTF-8 continuation bytes due, the
     * next in [lo, hi]); 1 after a backslash; 2 in {@code \\uXXXX} with {@code need} hex digits due; 3, 4, 5 after
     * a high surrogate, expecting a backslash, 'u', then a low surrogate's four digits.
     */
    record Str(StringNode node, int chars, int state) implements Frame {
    }

    /** Inside a number, in one of the phases below, with {@code digits} digits in the current part. */
    record Num(NumberNode node, int phase, int digits) implements Frame {
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
    /**
     * Digits a number's integer part and fraction may have, and its exponent: JSON sets no bound, but a model under a
     * mask can repeat a digit until max_tokens (seen on a small model: "score": 8888...), so numbers stop where a
     * double does (llama.cpp's JSON grammars bound the integer part and fraction at 16 digits too).
     */
    static final int MAX_DIGITS = 16, MAX_EXPONENT_DIGITS = 3;
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
                    out.add(below.push(new Str(t, 0, 0), false));
                }
            }
            case NumberNode n -> stepNumber(below.push(new Num(n, START, 0), false), new Num(n, START, 0), b, out);
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
                        out.add(s.push(new Str(ANY_KEY, 0, 0), false));
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
        long r = stepString(t.node(), t.chars(), t.state(), b);
        if (r == CLOSE) {
            out.add(finish(s));
        } else if (r != REFUSE) {
            out.add(s.replaceTop(new Str(t.node(), (int) (r >>> 32), (int) r)));
        }
    }

    /** {@link #stepString(StringNode, int, int, int)}'s answers besides a new (chars, state). */
    static final long REFUSE = -1, CLOSE = -2;

    /**
     * One byte inside a string, on plain ints so a trie walk can run it without allocating: returns
     * {@code chars << 32 | state} after {@code b}, {@link #CLOSE} for the closing quote or {@link #REFUSE}. The
     * state packs mode (bits 0-2), need (3-5), lo (6-13), hi (14-21) and the first two hex digits of an escape
     * (22-29); it is 0 exactly between whole characters outside escapes. In a string without maxLength, chars stops
     * counting at minLength, so every state past it is equal.
     */
    static long stepString(StringNode node, int chars, int state, int b) {
        int mode = state & 7;
        int need = (state >>> 3) & 7;
        switch (mode) {
            case 0 -> {
                if (need > 0) {
                    int lo = (state >>> 6) & 0xFF;
                    int hi = (state >>> 14) & 0xFF;
                    if (b < lo || b > hi) {
                        return REFUSE;
                    }
                    return pack(chars, need == 1 ? 0 : packState(0, need - 1, 0x80, 0xBF, 0));
                }
                if (b == '"') {
                    return chars >= node.minLength ? CLOSE : REFUSE;
                }
                if (chars >= node.maxLength || b < 0x20) {
                    return REFUSE;
                }
                if (b == '\\') {
                    return pack(chars, packState(1, 0, 0, 0, 0));
                }
                if (b < 0x80) {
                    return pack(counted(node, chars), 0);
                }
                int lead = UTF8_LEAD[b];
                return lead == 0 ? REFUSE : pack(counted(node, chars), packState(0, lead & 7, (lead >>> 8) & 0xFF, (lead >>> 16) & 0xFF, 0));
            }
            case 1 -> {
                if (b == 'u') {
                    return pack(chars, packState(2, 4, 0, 0, 0));
                }
                return "\"\\/bfnrt".indexOf(b) >= 0 ? pack(counted(node, chars), 0) : REFUSE;
            }
            case 2 -> {
                int v = hex(b);
                if (v < 0) {
                    return REFUSE;
                }
                int acc = state >>> 22;
                if (need > 2) {
                    acc = acc * 16 + v;
                    if (need == 3 && acc >= 0xDC && acc <= 0xDF) {
                        return REFUSE; // a low surrogate with no high one before it
                    }
                }
                if (need > 1) {
                    return pack(chars, packState(2, need - 1, 0, 0, acc));
                }
                boolean high = acc >= 0xD8 && acc <= 0xDB;
                return high ? pack(chars, packState(3, 0, 0, 0, 0)) : pack(counted(node, chars), 0);
            }
            case 3 -> {
                return b == '\\' ? pack(chars, packState(4, 0, 0, 0, 0)) : REFUSE;
            }
            case 4 -> {
                return b == 'u' ? pack(chars, packState(5, 4, 0, 0, 0)) : REFUSE;
            }
            default -> {
                int v = hex(b);
                int position = 4 - need;
                boolean ok = v >= 0 && (position != 0 || v == 0xD) && (position != 1 || v >= 0xC);
                if (!ok) {
                    return REFUSE;
                }
                return need == 1 ? pack(counted(node, chars), 0) : pack(chars, packState(5, need - 1, 0, 0, 0));
            }
        }
    }

    private static int counted(StringNode node, int chars) {
        return node.unbounded() ? Math.min(chars + 1, node.minLength) : chars + 1;
    }

    private static long pack(int chars, int state) {
        return (long) chars << 32 | (state & 0xFFFFFFFFL);
    }

    private static int packState(int mode, int need, int lo, int hi, int acc) {
        return mode | need << 3 | lo << 6 | hi << 14 | acc << 22;
    }

    /**
     * For a UTF-8 lead byte: {continuation bytes due, lowest and highest allowed next byte} (RFC 3629: no overlong
     * forms, no surrogates, nothing above U+10FFFF), or null when {@code b} cannot start a character.
     */
    static int[] utf8Lead(int b) {
        int packed = UTF8_LEAD[b];
        return packed == 0 ? null : new int[]{packed & 7, (packed >>> 8) & 0xFF, (packed >>> 16) & 0xFF};
    }

    /** Per lead byte: continuation bytes due (bits 0-2), lowest (8-15) and highest (16-23) next byte; 0 if none. */
    private static final int[] UTF8_LEAD = new int[256];

    static {
        for (int b = 0xC2; b <= 0xF4; b++) {
            int need = b <= 0xDF ? 1 : b <= 0xEF ? 2 : 3;
            int lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
            int hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
            UTF8_LEAD[b] = need | lo << 8 | hi << 16;
        }
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
            case INT -> digit ? (n.digits() < MAX_DIGITS ? INT : -1) : b == '.' && !integer ? DOT : exponent ? EXP_MARK : -1;
            case DOT -> digit ? FRAC : -1;
            case FRAC -> digit ? (n.digits() < MAX_DIGITS ? FRAC : -1) : exponent ? EXP_MARK : -1;
            case EXP_MARK -> b == '+' || b == '-' ? EXP_SIGN : digit ? EXP : -1;
            case EXP_SIGN -> digit ? EXP : -1;
            default -> digit && n.digits() < MAX_EXPONENT_DIGITS ? EXP : -1;
        };
        if (next >= 0) {
            int digits = next == n.phase() ? n.digits() + 1 : digit ? 1 : 0; // a new part starts counting afresh
            out.add(s.replaceTop(new Num(n.node(), next, digits)));
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
        if (l.owner() == null) {
            stepSortedLiteral(s, l, b, out);
            return;
        }
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

    /**
     * An enum's or a literal's step: its options are sorted ({@link LiteralNode}) and {@code lo..hi} are those that
     * start with the bytes so far, so the ones that continue with {@code b} are a range found by binary search. A
     * linear scan made a mask cost the enum's size at every token (an enum of 9,000 strings sharing a prefix: up to
     * 190 ms a token).
     */
    private void stepSortedLiteral(Stack s, Lit l, int b, Out out) {
        byte[][] options = l.options();
        int len = l.len();
        int first = firstContinuing(options, l.lo(), l.hi() + 1, len, b);
        int end = firstContinuing(options, first, l.hi() + 1, len, b + 1);
        if (first < end) {
            Lit next = new Lit(options, null, first, end - 1, len + 1, -1);
            Stack stepped = s.replaceTop(next);
            boolean exact = options[first].length == len + 1;
            boolean longer = options[end - 1].length > len + 1;
            out.add(exact && !longer ? finish(stepped) : stepped);
        }
        if (len > 0 && options[l.lo()].length == len) {
            stepInto(finish(s), b, out);
        }
    }

    /**
     * The first index in {@code from..to-1} whose option continues past {@code len} with a byte of at least
     * {@code b} ({@code to} if none); those options share their first {@code len} bytes, so an option that ends at
     * {@code len} sorts before all that continue.
     */
    private static int firstContinuing(byte[][] options, int from, int to, int len, int b) {
        int lo = from;
        int hi = to;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            byte[] o = options[mid];
            if (o.length <= len || (o[len] & 0xFF) < b) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
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
        if (l.owner() == null) { // sorted: an option equal to the bytes so far comes first
            return l.options()[l.lo()].length == l.len() ? l.lo() : -1;
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
    Stack finish(Stack s) {
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
