package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.CrossEntropy;
import dev.finetune4j.core.models.ModelInput;

import java.util.Arrays;
import java.util.List;

/**
 * A right-padded micro-batch ready for the model, with its next-token labels already shifted.
 *
 * @param inputIds      [B][T] token ids, padding filled with {@code padId}
 * @param attentionMask [B][T] 1 for real tokens, 0 for padding; null when no row is padded
 * @param segments      [B][T] packed example ids, or null when no example is packed
 * @param targets       [B*T] the label each position predicts (labels shifted left by one), -100 for none
 * @param lossTokens    positions whose target is not -100
 * @param tokens        real (unpadded) tokens
 */
record Batch(long[][] inputIds, long[][] attentionMask, int[][] segments, int[] targets, int lossTokens, int tokens) {

    /** Pads {@code examples} to the longest one. */
    static Batch collate(List<TokenizedExample> examples, long padId) {
        int b = examples.size();
        int t = examples.stream().mapToInt(TokenizedExample::length).max().orElseThrow();
        boolean padded = examples.stream().anyMatch(e -> e.length() != t);
        boolean packed = examples.stream().anyMatch(e -> e.segments() != null);
        long[][] ids = new long[b][t];
        long[][] mask = padded ? new long[b][t] : null;
        int[][] segments = packed ? new int[b][t] : null;
        int[] targets = new int[b * t];
        Arrays.fill(targets, CrossEntropy.IGNORE_INDEX);
        int lossTokens = 0;
        int tokens = 0;
        for (int i = 0; i < b; i++) {
            TokenizedExample e = examples.get(i);
            int n = e.length();
            tokens += n;
            System.arraycopy(e.inputIds(), 0, ids[i], 0, n);
            Arrays.fill(ids[i], n, t, padId);
            if (mask != null) {
                Arrays.fill(mask[i], 0, n, 1L);
            }
            if (segments != null) {
                int last = 0;
                for (int j = 0; j < n; j++) {
                    segments[i][j] = e.segments() == null ? 0 : e.segments()[j];
                    last = segments[i][j];
                }
                Arrays.fill(segments[i], n, t, last + 1); // padding is its own segment
            }
            for (int j = 0; j + 1 < n; j++) {
                long label = e.labels()[j + 1];
                if (label != CrossEntropy.IGNORE_INDEX) {
                    targets[i * t + j] = Math.toIntExact(label);
                    lossTokens++;
                }
            }
        }
        return new Batch(ids, mask, segments, targets, lossTokens, tokens);
    }

    int batchSize() {
        return inputIds.length;
    }

    int length() {
        return inputIds[0].length;
    }

    ModelInput modelInput() {
        return new ModelInput(inputIds, null, attentionMask, segments, null);
    }
}
