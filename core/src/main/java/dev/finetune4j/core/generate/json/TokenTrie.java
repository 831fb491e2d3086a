package dev.finetune4j.core.generate.json;

import java.util.Arrays;

/**
 * The tokens of a vocabulary as a byte trie, so a mask walks each shared prefix once and drops a whole subtree at
 * the first byte the grammar refuses. Nodes are numbered in preorder; a node's edges are contiguous, and its tokens
 * (ids whose bytes end exactly there; several ids may share bytes) are a contiguous run of {@link #ids}. Tokens of
 * more than {@value #MAX_TOKEN_BYTES} bytes are left out (never allowed) so walks stay shallow. Immutable once
 * built (the arrays are trimmed to size at the end of {@link #buildByKey} and never written after).
 *
 * <pre>
 *   root -'{'-> n1 (ids of "{")  -'"'-> n2 (ids of "{\"")
 *        -' '-> n3 (ids of " ")  -'"'-> n4 (ids of " \"")
 * </pre>
 */
final class TokenTrie {
    static final int MAX_TOKEN_BYTES = 1024;

    /** Token ids sorted by their bytes (unsigned, shorter first). */
    final int[] ids;
    int[] idStart;
    int[] idEnd;
    int[] edgeStart;
    int[] edgeEnd;
    byte[] edgeLabel;
    int[] edgeTarget;
    /** Per id the bytes it is filed under (its own bytes, or a suffix of them), or null when left out. */
    private final byte[][] keys;
    private int nodeCount;
    private int edgeCount;

    private TokenTrie(byte[][] keys, int[] ids) {
        this.keys = keys;
        this.ids = ids;
        long totalBytes = 0;
        for (int id : ids) {
            totalBytes += keys[id].length;
        }
        int maxNodes = (int) Math.min(Integer.MAX_VALUE - 8, totalBytes + 1);
        idStart = new int[maxNodes];
        idEnd = new int[maxNodes];
        edgeStart = new int[maxNodes];
        edgeEnd = new int[maxNodes];
        edgeLabel = new byte[maxNodes];
        edgeTarget = new int[maxNodes];
    }

    /**
     * The trie of the ids in {@code include} that have bytes (1 to {@value #MAX_TOKEN_BYTES} of them).
     *
     * @param vocab   the vocabulary
     * @param include which ids to put in, by id
     */
    static TokenTrie build(TokenBytes vocab, java.util.function.IntPredicate include) {
        return buildByKey(vocab, id -> include.test(id) ? vocab.bytesShared(id) : null);
    }

    /**
     * The trie filing each ordinary token under {@code keyOf(id)} (null or empty: left out); ids with equal keys share
     * a node.
     */
    static TokenTrie buildByKey(TokenBytes vocab, java.util.function.IntFunction<byte[]> keyOf) {
        byte[][] keys = new byte[vocab.size()][];
        for (int id = 0; id < vocab.size(); id++) {
            byte[] b = vocab.bytesShared(id);
            if (b != null && b.length > 0 && b.length <= MAX_TOKEN_BYTES && !vocab.isSpecial(id)) {
                byte[] key = keyOf.apply(id);
                keys[id] = key == null || key.length == 0 ? null : key;
            }
        }
        Integer[] boxed = java.util.stream.IntStream.range(0, vocab.size()).filter(id -> keys[id] != null)
                .boxed().toArray(Integer[]::new);
        Arrays.sort(boxed, (x, y) -> Arrays.compareUnsigned(keys[x], keys[y]));
        TokenTrie trie = new TokenTrie(keys, Arrays.stream(boxed).mapToInt(Integer::intValue).toArray());
        trie.node(0, trie.ids.length, 0);
        trie.trim();
        return trie;
    }

    /** Shrinks the arrays, sized for the worst case (one node per byte), to the nodes and edges built. */
    private void trim() {
        idStart = Arrays.copyOf(idStart, nodeCount);
        idEnd = Arrays.copyOf(idEnd, nodeCount);
        edgeStart = Arrays.copyOf(edgeStart, nodeCount);
        edgeEnd = Arrays.copyOf(edgeEnd, nodeCount);
        edgeLabel = Arrays.copyOf(edgeLabel, edgeCount);
        edgeTarget = Arrays.copyOf(edgeTarget, edgeCount);
    }

    /** Builds the node for sorted ids [lo, hi), all sharing their first {@code depth} bytes; returns its number. */
    private int node(int lo, int hi, int depth) {
        int node = nodeCount++;
        int i = lo;
        while (i < hi && keys[ids[i]].length == depth) {
            i++;
        }
        idStart[node] = lo;
        idEnd[node] = i;
        int groups = 0;
        for (int j = i; j < hi; ) {
            int label = keys[ids[j]][depth];
            while (j < hi && keys[ids[j]][depth] == label) {
                j++;
            }
            groups++;
        }
        edgeStart[node] = edgeCount;
        edgeEnd[node] = edgeCount + groups;
        int edge = edgeCount;
        edgeCount += groups;
        for (int j = i; j < hi; edge++) {
            byte label = keys[ids[j]][depth];
            int from = j;
            while (j < hi && keys[ids[j]][depth] == label) {
                j++;
            }
            edgeLabel[edge] = label;
            edgeTarget[edge] = node(from, j, depth + 1);
        }
        return node;
    }

    /**
     * Sets in {@code mask} every token below {@code node} whose bytes {@code state} accepts, pruning at the first
     * refused byte. Where the only reading is inside a string, the walk goes on with {@link #walkString}, which
     * steps plain ints instead of building a state per byte.
     */
    void walk(int node, JsonState state, long[] mask) {
        JsonState.Stack only = state.single();
        if (only != null && only.frame() instanceof Frames.Str str) {
            walkString(node, new AfterString(only, state.grammar()), str.node(), str.chars(), str.state(), mask);
            return;
        }
        for (int e = edgeStart[node]; e < edgeEnd[node]; e++) {
            JsonState next = state.advance(edgeLabel[e] & 0xFF);
            if (next == null) {
                continue;
            }
            int child = edgeTarget[e];
            markTokens(child, mask);
            if (edgeStart[child] < edgeEnd[child]) {
                walk(child, next, mask);
            }
        }
    }

    /**
     * {@link #walk} from the root of the trie of all tokens: where a quote opens a free string (an object key or a
     * string value in most grammars), the tokens that start with that quote come from {@code index}'s quote sets
     * instead of a walk through every {@code "word} token.
     */
    void walkFromRoot(JsonState state, long[] mask, TokenIndex index) {
        JsonState.Stack only = state.single();
        if (only != null && only.frame() instanceof Frames.Str) {
            walk(0, state, mask);
            return;
        }
        for (int e = edgeStart[0]; e < edgeEnd[0]; e++) {
            int b = edgeLabel[e] & 0xFF;
            JsonState next = state.advance(b);
            if (next == null) {
                continue;
            }
            int child = edgeTarget[e];
            markTokens(child, mask);
            if (edgeStart[child] == edgeEnd[child]) {
                continue;
            }
            if (b == '"' && next.inFreeString()) {
                for (int w = 0; w < mask.length && w < index.quotePlain.length; w++) {
                    mask[w] |= index.quotePlain[w];
                }
                index.quoteRests.walk(0, next, mask);
            } else {
                walk(child, next, mask);
            }
        }
    }

    /**
     * Walks {@link TokenIndex#notPlainByPrefixChars} from a string (the only reading, {@code str} on top of
     * {@code only}, between whole characters): the first byte of each key is a plain prefix's character count k,
     * which fits when chars + k is within maxLength; the rest is walked from the string k characters later.
     */
    void walkByPrefixChars(JsonState.Stack only, Frames.Str str, JsonGrammar grammar, long[] mask) {
        GrammarNode.StringNode string = str.node();
        AfterString after = new AfterString(only, grammar);
        for (int e = edgeStart[0]; e < edgeEnd[0]; e++) {
            int k = edgeLabel[e] & 0xFF;
            long chars = (long) str.chars() + k;
            if (chars > string.maxLength) {
                continue;
            }
            int counted = string.unbounded() ? (int) Math.min(chars, string.minLength) : (int) chars;
            walkString(edgeTarget[e], after, string, counted, 0, mask);
        }
    }

    /**
     * {@link #walk} inside a string whose frame is on top of {@code after.strStack} (its counters are stale; the
     * current ones are {@code chars} and {@code strState}). Once the closing quote comes, the walk goes on from the
     * state after the string, which is the same wherever in the subtree the quote falls, so it is built once.
     */
    private void walkString(int node, AfterString after, GrammarNode.StringNode string, int chars, int strState, long[] mask) {
        for (int e = edgeStart[node]; e < edgeEnd[node]; e++) {
            long r = Frames.stepString(string, chars, strState, edgeLabel[e] & 0xFF);
            if (r == Frames.REFUSE) {
                continue;
            }
            int child = edgeTarget[e];
            markTokens(child, mask);
            if (edgeStart[child] == edgeEnd[child]) {
                continue;
            }
            if (r == Frames.CLOSE) {
                walkAfterString(child, after, mask);
            } else {
                walkString(child, after, string, (int) (r >>> 32), (int) r, mask);
            }
        }
    }

    /** {@link #walk} from the state after a closing quote, with that state's next states cached per byte. */
    private void walkAfterString(int node, AfterString after, long[] mask) {
        for (int e = edgeStart[node]; e < edgeEnd[node]; e++) {
            JsonState next = after.next(edgeLabel[e] & 0xFF);
            if (next == null) {
                continue;
            }
            int child = edgeTarget[e];
            markTokens(child, mask);
            if (edgeStart[child] < edgeEnd[child]) {
                walk(child, next, mask);
            }
        }
    }

    /** The state after one string closes, and the states one byte later, computed on first use. One walk only. */
    private static final class AfterString {
        private final JsonState.Stack strStack;
        private final JsonGrammar grammar;
        private JsonState closed;
        private JsonState[] next;
        private boolean[] known;

        AfterString(JsonState.Stack strStack, JsonGrammar grammar) {
            this.strStack = strStack;
            this.grammar = grammar;
        }

        JsonState next(int b) {
            if (closed == null) {
                closed = JsonState.of(grammar, grammar.frames().finish(strStack));
                next = new JsonState[256];
                known = new boolean[256];
            }
            if (!known[b]) {
                next[b] = closed.advance(b);
                known[b] = true;
            }
            return next[b];
        }
    }

    private void markTokens(int node, long[] mask) {
        for (int k = idStart[node]; k < idEnd[node]; k++) {
            int id = ids[k];
            mask[id >>> 6] |= 1L << id;
        }
    }

    /** @return the number of tokens in the trie */
    int tokens() {
        return ids.length;
    }
}
