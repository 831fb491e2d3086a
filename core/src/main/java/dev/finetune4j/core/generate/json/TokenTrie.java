package dev.finetune4j.core.generate.json;

import java.util.Arrays;

/**
 * The tokens of a vocabulary as a byte trie, so a mask walks each shared prefix once and drops a whole subtree at
 * the first byte the grammar refuses. Nodes are numbered in preorder; a node's edges are contiguous, and its tokens
 * (ids whose bytes end exactly there; several ids may share bytes) are a contiguous run of {@link #ids}. Tokens of
 * more than {@value #MAX_TOKEN_BYTES} bytes are left out (never allowed) so walks stay shallow. Immutable.
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
    final int[] idStart;
    final int[] idEnd;
    final int[] edgeStart;
    final int[] edgeEnd;
    final byte[] edgeLabel;
    final int[] edgeTarget;
    private final TokenBytes vocab;
    private int nodeCount;
    private int edgeCount;

    private TokenTrie(TokenBytes vocab, int[] ids) {
        this.vocab = vocab;
        this.ids = ids;
        long totalBytes = 0;
        for (int id : ids) {
            totalBytes += vocab.bytesShared(id).length;
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
        Integer[] boxed = java.util.stream.IntStream.range(0, vocab.size())
                .filter(id -> {
                    byte[] b = vocab.bytesShared(id);
                    return b != null && b.length > 0 && b.length <= MAX_TOKEN_BYTES && !vocab.isSpecial(id) && include.test(id);
                })
                .boxed().toArray(Integer[]::new);
        Arrays.sort(boxed, (x, y) -> Arrays.compareUnsigned(vocab.bytesShared(x), vocab.bytesShared(y)));
        TokenTrie trie = new TokenTrie(vocab, Arrays.stream(boxed).mapToInt(Integer::intValue).toArray());
        trie.node(0, trie.ids.length, 0);
        return trie;
    }

    /** Builds the node for sorted ids [lo, hi), all sharing their first {@code depth} bytes; returns its number. */
    private int node(int lo, int hi, int depth) {
        int node = nodeCount++;
        int i = lo;
        while (i < hi && vocab.bytesShared(ids[i]).length == depth) {
            i++;
        }
        idStart[node] = lo;
        idEnd[node] = i;
        int groups = 0;
        for (int j = i; j < hi; ) {
            int label = vocab.bytesShared(ids[j])[depth];
            while (j < hi && vocab.bytesShared(ids[j])[depth] == label) {
                j++;
            }
            groups++;
        }
        edgeStart[node] = edgeCount;
        edgeEnd[node] = edgeCount + groups;
        int edge = edgeCount;
        edgeCount += groups;
        for (int j = i; j < hi; edge++) {
            byte label = vocab.bytesShared(ids[j])[depth];
            int from = j;
            while (j < hi && vocab.bytesShared(ids[j])[depth] == label) {
                j++;
            }
            edgeLabel[edge] = label;
            edgeTarget[edge] = node(from, j, depth + 1);
        }
        return node;
    }

    /**
     * Sets in {@code mask} every token below {@code node} whose bytes {@code state} accepts, pruning at the first
     * refused byte.
     */
    void walk(int node, JsonState state, long[] mask) {
        for (int e = edgeStart[node]; e < edgeEnd[node]; e++) {
            JsonState next = state.advance(edgeLabel[e] & 0xFF);
            if (next == null) {
                continue;
            }
            int child = edgeTarget[e];
            for (int k = idStart[child]; k < idEnd[child]; k++) {
                int id = ids[k];
                mask[id >>> 6] |= 1L << id;
            }
            if (edgeStart[child] < edgeEnd[child]) {
                walk(child, next, mask);
            }
        }
    }

    /** @return the number of tokens in the trie */
    int tokens() {
        return ids.length;
    }
}
