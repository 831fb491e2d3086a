package dev.finetune4j.data.dedup;

import java.util.Arrays;

/**
 * Disjoint sets over ordinals 0, 1, 2... whose representative is always the smallest member, so that the
 * representative is the earliest record of its component whatever order the unions come in. 4 bytes per
 * element; path halving keeps finds nearly constant. Not thread-safe.
 */
final class MinUnionFind {
    private int[] parent = new int[1024];
    private int size;

    /** Adds the next element as its own set; returns it. */
    int add() {
        if (size == parent.length) {
            parent = Arrays.copyOf(parent, size * 2);
        }
        parent[size] = size;
        return size++;
    }

    /** The smallest member of the set holding {@code x}. */
    int find(int x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }

    /** Joins the sets of {@code a} and {@code b}. */
    void union(int a, int b) {
        int ra = find(a);
        int rb = find(b);
        if (ra < rb) {
            parent[rb] = ra;
        } else if (rb < ra) {
            parent[ra] = rb;
        }
    }

}
