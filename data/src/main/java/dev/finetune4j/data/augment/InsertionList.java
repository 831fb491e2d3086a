package dev.finetune4j.data.augment;

import java.util.ArrayList;
import java.util.List;

/**
 * A list of words that takes insertions at any index in O(sqrt n) instead of an {@link ArrayList}'s O(n) shift,
 * which made random insertion quadratic: a 4 MiB text took 12 s. The words sit in about sqrt(n) blocks of about
 * sqrt(n) words; a Fenwick tree over the block sizes finds the block of an index in O(log n). Blocks are never
 * split: EDA inserts at most half as many words as there are, at uniformly random indexes, so they stay near their
 * first size. Not thread-safe.
 */
final class InsertionList {
    private final List<List<String>> blocks;
    /** Fenwick tree over the block sizes: {@code tree[i]} sums the blocks {@code (i - (i & -i), i]}, 1-based. */
    private final int[] tree;
    private int size;

    /**
     * A list holding {@code words}, in order.
     *
     * @param words the words; not changed
     */
    InsertionList(List<String> words) {
        int per = Math.max(64, (int) Math.sqrt(words.size()));
        int count = Math.max(1, Math.ceilDiv(words.size(), per));
        blocks = new ArrayList<>(count);
        tree = new int[count + 1];
        for (int b = 0; b < count; b++) {
            List<String> block = new ArrayList<>(words.subList(Math.min(words.size(), b * per),
                    Math.min(words.size(), (b + 1) * per)));
            blocks.add(block);
            grow(b, block.size());
        }
        size = words.size();
    }

    int size() {
        return size;
    }

    /** The word at {@code index}, in [0, size). */
    String get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " of " + size + " words");
        }
        Position at = locate(index);
        return blocks.get(at.block()).get(at.offset());
    }

    /** Inserts {@code word} so that it is at {@code index}, in [0, size]; later words move up by one. */
    void add(int index, String word) {
        if (index < 0 || index > size) {
            throw new IndexOutOfBoundsException("index " + index + " for an insertion into " + size + " words");
        }
        Position at = locate(index);
        blocks.get(at.block()).add(at.offset(), word);
        grow(at.block(), 1);
        size++;
    }

    /** The words in order, as a new mutable list. */
    List<String> toList() {
        List<String> out = new ArrayList<>(size);
        blocks.forEach(out::addAll);
        return out;
    }

    /** Where {@code index} lies: a block and the offset in it; {@code size} is the end of the last block. */
    private record Position(int block, int offset) {
    }

    private Position locate(int index) {
        int block = 0;
        int rest = index;
        // NOTE: the Fenwick descent: the most blocks whose sizes sum to at most index; the position is in the next
        for (int step = Integer.highestOneBit(tree.length - 1); step > 0; step >>= 1) {
            int next = block + step;
            if (next < tree.length && tree[next] <= rest) {
                block = next;
                rest -= tree[next];
            }
        }
        if (block == blocks.size()) {
            block--;
            rest = blocks.get(block).size();
        }
        return new Position(block, rest);
    }

    private void grow(int block, int by) {
        for (int i = block + 1; i < tree.length; i += i & -i) {
            tree[i] += by;
        }
    }
}
