package dev.finetune4j.eval.text;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts the n-grams (orders 1 to {@code maxOrder}) of one sequence, the "hypothesis", and the clipped
 * matches of other sequences against it: the counting core of BLEU, chrF and ROUGE-N.
 *
 * <p>Tokens are non-negative ints (word ids from {@link #wordIds} or code points). Every distinct n-gram of
 * the hypothesis gets a dense id, built order by order as (id of its (n-1)-gram prefix, last token), so
 * counting needs neither n-gram strings nor tuples. Other sequences are only looked up: their n-grams absent
 * from the hypothesis cannot match and are counted by length alone.
 *
 * <p>Not thread-safe: one instance per segment and thread.
 */
public final class NgramMatcher {
    private final int maxOrder;
    private final int hypLength;
    private final LongIntMap ids;
    /** firstId[n-1] .. firstId[n]-1 are the ids of order n. */
    private final int[] firstId;
    private final int[] hypCounts;

    /**
     * Indexes the n-grams of orders 1 to {@code maxOrder} of a hypothesis.
     *
     * @param hypTokens the hypothesis tokens, each {@code >= 0}
     * @param maxOrder  the largest n-gram order, {@code >= 1}
     */
    public NgramMatcher(int[] hypTokens, int maxOrder) {
        this.maxOrder = maxOrder;
        this.hypLength = hypTokens.length;
        this.ids = new LongIntMap(Math.max(16, hypTokens.length * maxOrder * 2));
        this.firstId = new int[maxOrder + 1];
        int[] counts = new int[Math.max(1, hypTokens.length * maxOrder)];
        int[] prev = null;
        for (int n = 1; n <= maxOrder; n++) {
            firstId[n - 1] = ids.size();
            int count = hypTokens.length - n + 1;
            if (count <= 0) {
                for (int k = n; k <= maxOrder; k++) {
                    firstId[k] = ids.size();
                }
                break;
            }
            int[] cur = new int[count];
            for (int i = 0; i < count; i++) {
                int id = ids.getOrAssign(key(n == 1 ? -1 : prev[i], hypTokens[i + n - 1]));
                cur[i] = id;
                counts[id]++;
            }
            prev = cur;
            firstId[n] = ids.size();
        }
        this.hypCounts = counts;
    }

    private static long key(int prefixId, int token) {
        return ((long) (prefixId + 1) << 32) | (token & 0xFFFFFFFFL);
    }

    /**
     * Number of n-grams of order {@code n} in the hypothesis ({@code max(0, length - n + 1)}).
     *
     * @param n the order, in [1, maxOrder]
     * @return the count of n-grams of that order
     */
    public int hypTotal(int n) {
        return Math.max(0, hypLength - n + 1);
    }

    /**
     * Number of distinct n-gram ids (the length of arrays returned by {@link #countsIn}).
     *
     * @return the number of distinct n-grams of all orders
     */
    public int idCount() {
        return ids.size();
    }

    /**
     * How often each hypothesis n-gram occurs in {@code tokens} (tokens {@code < 0} never match).
     *
     * @param tokens another sequence, e.g. a reference, as ids from {@link #wordIds}
     * @return counts indexed by n-gram id, length {@link #idCount()}
     */
    public int[] countsIn(int[] tokens) {
        int[] counts = new int[ids.size()];
        int[] prev = new int[tokens.length];
        for (int n = 1; n <= maxOrder; n++) {
            int count = tokens.length - n + 1;
            if (count <= 0) {
                break;
            }
            boolean any = false;
            for (int i = 0; i < count; i++) {
                int p = n == 1 ? -1 : prev[i];
                int t = tokens[i + n - 1];
                int id = (n > 1 && p < 0) || t < 0 ? -1 : ids.get(key(p, t));
                prev[i] = id;
                if (id >= 0) {
                    counts[id]++;
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        return counts;
    }

    /**
     * Sum over the distinct hypothesis n-grams of order {@code n} of {@code min(hypothesis count, other[id])}.
     *
     * @param n the order, in [1, maxOrder]
     * @param other counts indexed by n-gram id, as {@link #countsIn} returns them
     * @return the clipped number of matching n-grams of order {@code n}
     */
    public int clippedMatches(int n, int[] other) {
        int sum = 0;
        for (int id = firstId[n - 1]; id < firstId[n]; id++) {
            sum += Math.min(hypCounts[id], other[id]);
        }
        return sum;
    }

    /**
     * Element-wise maximum of {@code into} and {@code counts}, in place (sacreBLEU's multi-reference clipping).
     *
     * @param into the running maximum, updated in place
     * @param counts counts of the same length
     */
    public static void maxInPlace(int[] into, int[] counts) {
        for (int i = 0; i < into.length; i++) {
            into[i] = Math.max(into[i], counts[i]);
        }
    }

    /**
     * Maps words to ids: the words of {@code hypothesis} get ids {@code 0..k-1} in first-seen order, and the
     * words of every other sequence get their hypothesis id or {@code -1}.
     *
     * @param hypothesis the hypothesis words
     * @param others the other sequences' words, e.g. the references
     * @return the hypothesis ids first, then one id array per sequence of {@code others}
     */
    public static int[][] wordIds(List<String> hypothesis, List<List<String>> others) {
        Map<String, Integer> vocab = new HashMap<>(hypothesis.size() * 2);
        int[][] out = new int[others.size() + 1][];
        int[] hyp = new int[hypothesis.size()];
        for (int i = 0; i < hyp.length; i++) {
            Integer id = vocab.putIfAbsent(hypothesis.get(i), vocab.size());
            hyp[i] = id == null ? vocab.size() - 1 : id;
        }
        out[0] = hyp;
        for (int k = 0; k < others.size(); k++) {
            List<String> words = others.get(k);
            int[] ids = new int[words.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = vocab.getOrDefault(words.get(i), -1);
            }
            out[k + 1] = ids;
        }
        return out;
    }

    /** Open-addressing map from long keys to dense int ids. */
    private static final class LongIntMap {
        private long[] keys;
        private int[] values; // id + 1; 0 marks an empty slot
        private int size;

        LongIntMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
            keys = new long[cap];
            values = new int[cap];
        }

        int size() {
            return size;
        }

        int get(long key) {
            int mask = keys.length - 1;
            for (int i = slot(key, mask); ; i = (i + 1) & mask) {
                int v = values[i];
                if (v == 0) {
                    return -1;
                }
                if (keys[i] == key) {
                    return v - 1;
                }
            }
        }

        int getOrAssign(long key) {
            int mask = keys.length - 1;
            for (int i = slot(key, mask); ; i = (i + 1) & mask) {
                int v = values[i];
                if (v == 0) {
                    keys[i] = key;
                    values[i] = ++size;
                    if (size * 2 > keys.length) {
                        grow();
                    }
                    return size - 1;
                }
                if (keys[i] == key) {
                    return v - 1;
                }
            }
        }

        private static int slot(long key, int mask) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29)) & mask;
        }

        private void grow() {
            long[] oldKeys = keys;
            int[] oldValues = values;
            keys = new long[oldKeys.length * 2];
            values = new int[oldKeys.length * 2];
            int mask = keys.length - 1;
            for (int j = 0; j < oldKeys.length; j++) {
                if (oldValues[j] != 0) {
                    int i = slot(oldKeys[j], mask);
                    while (values[i] != 0) {
                        i = (i + 1) & mask;
                    }
                    keys[i] = oldKeys[j];
                    values[i] = oldValues[j];
                }
            }
        }
    }

    @Override
    public String toString() {
        return "NgramMatcher[length=" + hypLength + ", maxOrder=" + maxOrder + ", ids=" + ids.size()
                + ", firstId=" + Arrays.toString(firstId) + "]";
    }
}
