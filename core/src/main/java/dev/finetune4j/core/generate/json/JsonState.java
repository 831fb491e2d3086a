package dev.finetune4j.core.generate.json;


import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Where a recognizer stands after some bytes of output: an immutable set of pushdown stacks, one per way the
 * bytes so far can be read (several only while an {@code anyOf} or a number's end is undecided).
 * {@link #advance} returns the state after one more byte, or null when that byte cannot continue any reading.
 * Immutable, so a trie walk can branch from one state without copying; see {@link Frames} for the frames.
 */
final class JsonState {
    /**
     * The most readings kept. An anyOf whose branches stay alike for long (two array shapes nested in each other)
     * could double the readings at every byte; past this many the first ones are kept. Every kept reading is a valid
     * parse that can still be completed, so output stays valid; only some valid continuations may be refused.
     */
    static final int MAX_READINGS = 64;

    private final JsonGrammar grammar;
    private final Stack[] alternatives;

    private JsonState(JsonGrammar grammar, Stack[] alternatives) {
        this.grammar = grammar;
        this.alternatives = alternatives;
    }

    static JsonState start(JsonGrammar grammar) {
        Stack root = new Stack(new Frames.Root(false), null, 0);
        return new JsonState(grammar, new Stack[]{root.push(new Frames.Value(grammar.root(), 0), false)});
    }

    /**
     * The state after byte {@code b}, or null when {@code b} cannot follow.
     *
     * @param b a byte, 0-255
     */
    JsonState advance(int b) {
        if (alternatives.length == 1) {
            Stack[] one = grammar.frames().step(alternatives[0], b);
            return one.length == 0 ? null : new JsonState(grammar, one);
        }
        Frames frames = grammar.frames();
        LinkedHashSet<Stack> next = new LinkedHashSet<>();
        for (Stack s : alternatives) {
            next.addAll(Arrays.asList(frames.step(s, b)));
        }
        if (next.isEmpty()) {
            return null;
        }
        Stack[] kept = next.toArray(Stack[]::new);
        return new JsonState(grammar, kept.length > MAX_READINGS ? Arrays.copyOf(kept, MAX_READINGS) : kept);
    }

    /** The state after all of {@code bytes}, or null when they do not continue this prefix. */
    JsonState advance(byte[] bytes) {
        JsonState s = this;
        for (int i = 0; i < bytes.length && s != null; i++) {
            s = s.advance(bytes[i] & 0xFF);
        }
        return s;
    }

    /** True when the bytes so far are a complete value (end of output may come now). */
    boolean isComplete() {
        for (Stack s : alternatives) {
            if (grammar.frames().canEndOutput(s)) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when the only reading is inside a string with no maximum length and past its minimum, after whole
     * characters and outside escapes: every token of plain string content continues the output and leaves this
     * same state (the character count stops at minLength).
     */
    boolean inFreeString() {
        return alternatives.length == 1 && alternatives[0].frame() instanceof Frames.Str str && str.node().unbounded()
                && str.state() == 0 && str.chars() >= str.node().minLength;
    }

    /** The only reading, or null when there are several. */
    Stack single() {
        return alternatives.length == 1 ? alternatives[0] : null;
    }

    static JsonState of(JsonGrammar grammar, Stack stack) {
        return new JsonState(grammar, new Stack[]{stack});
    }

    JsonGrammar grammar() {
        return grammar;
    }

    /** The bytes that may come next, as a 256-entry table (for tests and error messages). */
    boolean[] allowedNextBytes() {
        boolean[] ok = new boolean[256];
        for (int b = 0; b < 256; b++) {
            ok[b] = advance(b) != null;
        }
        return ok;
    }

    /** How many readings this state holds (1 except inside undecided anyOf branches). */
    int readings() {
        return alternatives.length;
    }

    /**
     * One reading: the frame on top, the rest of the stack below it, and how many objects and arrays are open.
     * Records compare by value, so equal readings reached two ways merge.
     */
    record Stack(Frames.Frame frame, Stack below, int depth) {
        Stack push(Frames.Frame f, boolean container) {
            return new Stack(f, this, container ? depth + 1 : depth);
        }

        Stack replaceTop(Frames.Frame f) {
            return new Stack(f, below, depth);
        }
    }

    /** Collects the stacks a step produces. */
    static final class Out {
        final List<Stack> list = new ArrayList<>(2);

        void add(Stack s) {
            list.add(s);
        }
    }
}
