package dev.finetune4j.peft.train;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class BatchTest {

    @Test
    void padsRightMasksPaddingAndShiftsLabels() {
        TokenizedExample a = new TokenizedExample(new long[]{1, 2, 3, 4}, new long[]{-100, -100, 3, 4}, null);
        TokenizedExample b = TokenizedExample.of(new long[]{5, 6});
        Batch batch = Batch.collate(List.of(a, b), 0);
        assertArrayEquals(new long[]{5, 6, 0, 0}, batch.inputIds()[1]);
        assertArrayEquals(new long[]{1, 1, 0, 0}, batch.attentionMask()[1]);
        assertArrayEquals(new int[]{-100, 3, 4, -100, 6, -100, -100, -100}, batch.targets());
        assertEquals(3, batch.lossTokens());
        assertEquals(6, batch.tokens());
        assertNull(batch.segments());
        assertNull(Batch.collate(List.of(a, a), 0).attentionMask(), "no padding, no mask");
    }

    @Test
    void anExampleKeepsItsTokensWhenTheCallerReusesItsBuffers() {
        long[] ids = {1, 2, 3};
        long[] labels = {-100, 2, 3};
        int[] segments = {0, 0, 1};
        TokenizedExample example = new TokenizedExample(ids, labels, segments);
        TokenizedExample all = TokenizedExample.of(ids);
        Arrays.fill(ids, 99_999);
        Arrays.fill(labels, 7);
        Arrays.fill(segments, 5);
        assertArrayEquals(new long[]{1, 2, 3}, example.inputIds());
        assertArrayEquals(new long[]{-100, 2, 3}, example.labels());
        assertArrayEquals(new int[]{0, 0, 1}, example.segments());
        assertArrayEquals(new long[]{1, 2, 3}, all.labels());
    }

    @Test
    void packingKeepsExamplesApartAndMasksTheirFirstLabel() {
        TokenizedDataset data = TokenizedDataset.of(new long[][]{{1, 2, 3}, {4, 5}, {6, 7, 8, 9}});
        TokenizedDataset packed = data.packed(6);
        assertEquals(2, packed.size());
        TokenizedExample first = packed.get(0);
        assertArrayEquals(new long[]{1, 2, 3, 4, 5}, first.inputIds());
        assertArrayEquals(new int[]{0, 0, 0, 1, 1}, first.segments());
        assertArrayEquals(new long[]{-100, 2, 3, -100, 5}, first.labels());
        Batch batch = Batch.collate(packed.examples(), 0);
        assertArrayEquals(new int[]{0, 0, 0, 0, 1}, batch.segments()[1], "padding is a segment of its own");
        assertArrayEquals(new int[]{2, 3, -100, 5, -100}, Arrays.copyOf(batch.targets(), 5));
    }
}
