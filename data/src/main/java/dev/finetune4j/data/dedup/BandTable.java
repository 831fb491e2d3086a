package dev.finetune4j.data.dedup;

/**
 * One LSH band's buckets in flat arrays (open addressing, linear probing, load at most 3/4): the 64-bit band
 * hashes and the ordinal of the first record that had each hash. So a slot costs 12 bytes, with no object per
 * entry. Not thread-safe.
 */
final class BandTable {
    private long[] keys;
    private int[] ordinals;
    private int mask;
    private int size;

    BandTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 4L / 3 + 1)) - 1) << 1;
        keys = new long[cap];
        ordinals = new int[cap];
        mask = cap - 1;
    }

    /** The slot holding {@code hash}, or -1. */
    int find(long hash) {
        long k = nonZero(hash);
        for (int i = home(k); keys[i] != 0; i = (i + 1) & mask) {
            if (keys[i] == k) {
                return i;
            }
        }
        return -1;
    }

    /** The ordinal stored in a slot found by {@link #find}. */
    int ordinalAt(int slot) {
        return ordinals[slot];
    }

    /** Stores {@code hash} with {@code ordinal} unless present. */
    void putIfAbsent(long hash, int ordinal) {
        if (size + 1 > (mask + 1) / 4 * 3) {
            grow();
        }
        long k = nonZero(hash);
        int i = home(k);
        for (; keys[i] != 0; i = (i + 1) & mask) {
            if (keys[i] == k) {
                return;
            }
        }
        keys[i] = k;
        ordinals[i] = ordinal;
        size++;
    }

    private int home(long k) {
        return (int) (k ^ (k >>> 29)) & mask;
    }

    private static long nonZero(long h) {
        return h == 0 ? 1 : h;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldOrdinals = ordinals;
        keys = new long[oldKeys.length * 2];
        ordinals = new int[keys.length];
        mask = keys.length - 1;
        size = 0;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] != 0) {
                putIfAbsent(oldKeys[j], oldOrdinals[j]);
            }
        }
    }
}
