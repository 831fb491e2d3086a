package dev.finetune4j.spark;

import scala.Tuple2;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Disjoint sets of long ids whose representative is always the smallest member (the earliest record), for the
 * edges of near duplicates collected on the driver. About 100 bytes per id. Not thread-safe.
 */
final class LongMinUnionFind {
    private final Map<Long, Long> parent = new HashMap<>();

    long find(long x) {
        long root = x;
        for (Long p; (p = parent.get(root)) != null && p != root; ) {
            root = p;
        }
        for (long y = x; y != root; ) {
            long next = parent.get(y);
            parent.put(y, root);
            y = next;
        }
        return root;
    }

    void union(long a, long b) {
        parent.putIfAbsent(a, a);
        parent.putIfAbsent(b, b);
        long ra = find(a);
        long rb = find(b);
        if (ra < rb) {
            parent.put(rb, ra);
        } else if (rb < ra) {
            parent.put(ra, rb);
        }
    }

    /** Every id that is not the smallest of its set, with that smallest id. */
    List<Tuple2<Long, Long>> nonRoots() {
        List<Tuple2<Long, Long>> out = new ArrayList<>();
        for (long x : parent.keySet()) {
            long root = find(x);
            if (root != x) {
                out.add(new Tuple2<>(x, root));
            }
        }
        return out;
    }
}
