package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Greedy, order-preserving packing of short examples into sequences of a maximum length. */
final class Packing {
    private Packing() {
    }

    static List<TokenizedExample> pack(List<TokenizedExample> examples, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("packing needs maxLength >= 2, got " + maxLength);
        }
        List<TokenizedExample> out = new ArrayList<>();
        List<TokenizedExample> open = new ArrayList<>();
        int used = 0;
        for (TokenizedExample e : examples) {
            if (e.segments() != null) {
                throw new IllegalArgumentException("the data set is already packed; pack it once");
            }
            int len = Math.min(e.length(), maxLength);
            if (len > maxLength - used) { // not used + len: that overflows for a maxLength past 2^30
                out.add(join(open, used));
                open.clear();
                used = 0;
            }
            open.add(e);
            used += len;
        }
        out.add(join(open, used));
        return out;
    }

    private static TokenizedExample join(List<TokenizedExample> parts, int total) {
        long[] ids = new long[total];
        long[] labels = new long[total];
        int[] segments = new int[total];
        int at = 0;
        for (int s = 0; s < parts.size(); s++) {
            TokenizedExample e = parts.get(s);
            int len = Math.min(e.length(), total - at);
            System.arraycopy(e.inputIds(), 0, ids, at, len);
            System.arraycopy(e.labels(), 0, labels, at, len);
            Arrays.fill(segments, at, at + len, s);
            // NOTE: the shifted loss predicts this label from the previous example's last token.
            labels[at] = CrossEntropy.IGNORE_INDEX;
            at += len;
        }
        return new TokenizedExample(ids, labels, segments);
    }
}
