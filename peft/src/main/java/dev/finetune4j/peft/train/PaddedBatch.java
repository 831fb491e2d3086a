package dev.finetune4j.peft.train;

import java.util.Arrays;
import java.util.List;

/**
 * Rows of token ids right-padded to the longest, with their attention mask: what a classifier reads for a batch.
 *
 * @param inputIds      [B][T] token ids, padding filled with the pad id
 * @param attentionMask [B][T] 1 for real tokens, 0 for padding
 * @param tokens        the real (unpadded) tokens
 */
public record PaddedBatch(long[][] inputIds, long[][] attentionMask, long tokens) {

    /**
     * Pads {@code rows} to the longest one.
     *
     * @param rows  the rows, at least one
     * @param padId the id padding fills in (a decoder classifier finds each row's end by it)
     * @return the batch
     */
    public static PaddedBatch of(List<long[]> rows, long padId) {
        int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow(
                () -> new IllegalArgumentException("a batch needs at least one row"));
        long[][] ids = new long[rows.size()][];
        long[][] mask = new long[rows.size()][t];
        long tokens = 0;
        for (int i = 0; i < ids.length; i++) {
            long[] row = rows.get(i);
            ids[i] = Arrays.copyOf(row, t);
            Arrays.fill(ids[i], row.length, t, padId);
            Arrays.fill(mask[i], 0, row.length, 1L);
            tokens += row.length;
        }
        return new PaddedBatch(ids, mask, tokens);
    }
}
