package dev.finetune4j.core.tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Finds the shape of regular expression that backtracks exponentially: a part repeated without bound whose
 * content can itself match a varying number of times, as in {@code (a+)+}, {@code (?:x?y*)*} or (in Oniguruma's
 * Ruby syntax, where an interval followed by {@code +} is repeated again) {@code a{1,3}+}.
 *
 * <p>NOTE: Oniguruma stops a match after 10 million retries at one position, and the Rust tokenizers library
 * panics on that error, which aborts the whole JVM. The patterns of real tokenizers (GPT-2, Llama 3, Qwen2,
 * DeepSeek, Mistral) repeat single characters, classes and fixed strings only, so refusing the shape costs them
 * nothing. It is a screen for the classic shapes, not a proof that a pattern runs in linear time.
 *
 * <p>The second shape is a repeated alternation whose branches can start alike, as in {@code (a|a)*} or
 * {@code (?:\s|x)+}: each repetition may then take either branch, and a failing match tries every combination.
 * Branches are compared by their leading literal text, conservatively: two overlap when one's is a prefix of the
 * other's, so a branch that starts with a class, an escape or a group overlaps every other (write such an
 * alternation as one class, {@code [\sx]+}). Literal branches that differ early, as in
 * {@code (?:'s|'t|'re)*}, pass.
 *
 * <p>Parts that cannot be backtracked into (possessive quantifiers {@code a*+}, atomic groups {@code (?>...)})
 * do not count as varying.
 */
final class NestedQuantifiers {
    private static final int UNBOUNDED = Integer.MAX_VALUE;

    private NestedQuantifiers() {
    }

    /**
     * One open group: whether something inside it can match a varying number of times, and the leading literal
     * text of each of its branches so far (the last one still growing while {@code literalOpen}).
     */
    private static final class Group {
        final boolean atomic;
        boolean varying;
        final List<StringBuilder> branchLiterals = new ArrayList<>(List.of(new StringBuilder()));
        boolean literalOpen = true;

        Group(boolean atomic) {
            this.atomic = atomic;
        }

        void nextBranch() {
            branchLiterals.add(new StringBuilder());
            literalOpen = true;
        }

        /** Ends the current branch's literal text unless {@code literal} (a character matched as itself) extends it. */
        void atom(int literal) {
            if (literalOpen && literal >= 0) {
                branchLiterals.getLast().append((char) literal);
            } else {
                literalOpen = false;
            }
        }

        /** True when two branches' leading literal texts are equal or one is a prefix of the other. */
        boolean branchesOverlap() {
            for (int a = 0; a < branchLiterals.size(); a++) {
                for (int b = a + 1; b < branchLiterals.size(); b++) {
                    String x = branchLiterals.get(a).toString();
                    String y = branchLiterals.get(b).toString();
                    if (x.startsWith(y) || y.startsWith(x)) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /** A quantifier spanning {@code [start, end)} of the pattern. */
    private record Quantifier(int start, int end, int min, int max, boolean possessive) {
        boolean varies() {
            return max > min && !possessive;
        }
    }

    /**
     * @param regex an Oniguruma pattern
     * @return the index in {@code regex} of the quantifier that repeats a varying part without bound, or -1
     */
    static int find(String regex) {
        Deque<Group> groups = new ArrayDeque<>();
        groups.push(new Group(false));
        int i = 0;
        while (i < regex.length()) {
            char c = regex.charAt(i);
            boolean atomVaries = false;
            int start = i;
            switch (c) {
                case '|' -> {
                    groups.peek().nextBranch();
                    i++;
                    continue;
                }
                case '\\' -> i = afterEscape(regex, i);
                case '[' -> i = afterClass(regex, i);
                case '(' -> {
                    if (regex.startsWith("(?#", i)) {
                        int close = regex.indexOf(')', i);
                        i = close < 0 ? regex.length() : close + 1;
                        continue;
                    }
                    groups.peek().atom(-1);
                    groups.push(new Group(regex.startsWith("(?>", i)));
                    i = groupBody(regex, i);
                    continue;
                }
                case ')' -> {
                    if (groups.size() == 1) {
                        i++;
                        continue;
                    }
                    Group closed = groups.pop();
                    atomVaries = (closed.varying || closed.branchLiterals.size() > 1 && closed.branchesOverlap())
                            && !closed.atomic;
                    i++;
                }
                default -> i++;
            }
            if (c != ')') {
                groups.peek().atom(quantifierAt(regex, i) == null ? literal(regex, start, i) : -1);
            }
            for (Quantifier q = quantifierAt(regex, i); q != null; q = quantifierAt(regex, i)) {
                if (q.max == UNBOUNDED && !q.possessive && atomVaries) {
                    return q.start;
                }
                atomVaries = !q.possessive && (atomVaries || q.varies());
                i = q.end;
            }
            if (atomVaries) {
                groups.peek().varying = true;
            }
        }
        return -1;
    }

    /**
     * The index where the group opening at {@code i} starts matching: after {@code (}, {@code (?:}, {@code (?>},
     * {@code (?i-m:}, a lookaround's {@code (?=}, {@code (?<!} or a name's {@code (?<name>}; at the {@code )} of
     * an inline option group such as {@code (?i)}.
     */
    private static int groupBody(String regex, int i) {
        if (!regex.startsWith("(?", i)) {
            return i + 1;
        }
        int j = i + 2;
        while (j < regex.length() && (Character.isLetter(regex.charAt(j)) || regex.charAt(j) == '-')) {
            j++;
        }
        if (j >= regex.length()) {
            return j;
        }
        return switch (regex.charAt(j)) {
            case ':', '>', '=', '!' -> j + 1;
            case '<' -> j + 1 < regex.length() && "=!".indexOf(regex.charAt(j + 1)) >= 0 ? j + 2
                    : Math.max(regex.indexOf('>', j), j) + 1;
            default -> j;
        };
    }

    /** The character the atom {@code regex[start, end)} matches as itself, or -1 when it is not a plain literal. */
    private static int literal(String regex, int start, int end) {
        char c = regex.charAt(start);
        if (end - start == 1) {
            return ".^$".indexOf(c) >= 0 ? -1 : c;
        }
        char escaped = regex.charAt(start + 1);
        return c == '\\' && end - start == 2 && !Character.isLetterOrDigit(escaped) ? escaped : -1;
    }

    /** The index after the escape at {@code i}, with the braces of {@code \p{L}}, {@code \x{41}} or a name. */
    private static int afterEscape(String regex, int i) {
        int next = i + 2;
        if (next < regex.length() && "pPxokg".indexOf(regex.charAt(i + 1)) >= 0) {
            char open = regex.charAt(next);
            int close = switch (open) {
                case '{' -> regex.indexOf('}', next);
                case '<' -> regex.indexOf('>', next);
                case '\'' -> regex.indexOf('\'', next + 1);
                default -> next - 1;
            };
            return close < 0 ? regex.length() : close + 1;
        }
        return Math.min(next, regex.length());
    }

    /** The index after the character class opening at {@code i}; classes nest in Oniguruma. */
    private static int afterClass(String regex, int i) {
        int depth = 0;
        int j = i;
        while (j < regex.length()) {
            char c = regex.charAt(j);
            if (c == '\\') {
                j += 2;
                continue;
            }
            if (c == '[') {
                depth++;
                j++;
                if (j < regex.length() && regex.charAt(j) == '^') {
                    j++;
                }
                if (j < regex.length() && regex.charAt(j) == ']') {
                    j++; // a ']' first in a class is a literal
                }
                continue;
            }
            j++;
            if (c == ']' && --depth == 0) {
                return j;
            }
        }
        return regex.length();
    }

    /** The quantifier starting at {@code i}, or null; a '{' that is no interval is a literal. */
    private static Quantifier quantifierAt(String regex, int i) {
        if (i >= regex.length()) {
            return null;
        }
        int min;
        int max;
        int end;
        switch (regex.charAt(i)) {
            case '*' -> { min = 0; max = UNBOUNDED; end = i + 1; }
            case '+' -> { min = 1; max = UNBOUNDED; end = i + 1; }
            case '?' -> { min = 0; max = 1; end = i + 1; }
            case '{' -> {
                int close = regex.indexOf('}', i);
                String body = close < 0 ? "" : regex.substring(i + 1, close);
                if (!body.matches("\\d{0,9}(,\\d{0,9})?") || body.isEmpty() || body.equals(",")) {
                    return null;
                }
                int comma = body.indexOf(',');
                min = comma == 0 ? 0 : Integer.parseInt(comma < 0 ? body : body.substring(0, comma));
                max = comma < 0 ? min : comma == body.length() - 1 ? UNBOUNDED : Integer.parseInt(body.substring(comma + 1));
                // NOTE: in Ruby syntax '+' after an interval repeats it again; it is not possessive.
                boolean lazy = close + 1 < regex.length() && regex.charAt(close + 1) == '?';
                return new Quantifier(i, close + (lazy ? 2 : 1), min, max, false);
            }
            default -> {
                return null;
            }
        }
        char suffix = end < regex.length() ? regex.charAt(end) : 0;
        boolean possessive = suffix == '+';
        return new Quantifier(i, suffix == '+' || suffix == '?' ? end + 1 : end, min, max, possessive);
    }
}
