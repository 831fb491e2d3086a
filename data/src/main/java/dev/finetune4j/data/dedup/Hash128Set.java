package dev.finetune4j.data.dedup;

import java.io.Serializable;

/**
 * A set of 128-bit hashes in two flat {@code long} arrays (open addressing, linear probing, load at most 3/4):
 * 16 bytes per slot, no object per entry. The all-zero hash is remapped so that zero can mark empty slots.
 * Not thread-safe.
 */
final class Hash128Set implements Serializable {
    private long[] hi;
    private long[] lo;
    private int size;
    private int mask;

    Hash128Set(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 4L / 3 + 1)) - 1) << 1;
        hi = new long[cap];
        lo = new long[cap];
        mask = cap - 1;
    }

    /** Adds the hash; returns {@code false} when it was already present. */
    boolean add(long h, long l) {
        if (h == 0 && l == 0) {
            l = 1;
        }
        if (size + 1 > (mask + 1) / 4 * 3) {
            grow();
        }
        int i = (int) (h ^ (h >>> 32)) & mask;
        while (hi[i] != 0 || lo[i] != 0) {
            if (hi[i] == h && lo[i] == l) {
                return false;
            }
            i = (i + 1) & mask;
        }
        hi[i] = h;
        lo[i] = l;
        size++;
        return true;
    }

    int size() {
        return size;
    }

    /** Bytes held by the table's arrays. */
    long bytes() {
        return 16L * hi.length;
    }

    private void grow() {
        long[] oh = hi;
        long[] ol = lo;
        hi = new long[oh.length * 2];
        lo = new long[oh.length * 2];
        mask = hi.length - 1;
        size = 0;
        for (int j = 0; j < oh.length; j++) {
            if (oh[j] != 0 || ol[j] != 0) {
                add(oh[j], ol[j]);
            }
        }
    }
}
