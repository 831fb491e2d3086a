package dev.finetune4j.peft.serve;

import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The running batch of continuous batching: one slot per row of a shared {@link BatchCache}, each holding a request
 * or free. A request joins after its prompt was computed alone ({@link #add}, by a {@link PromptPrefill}): its keys
 * and values are copied into a free slot at the cache's right end, or, when no slot or too few columns are free,
 * every row is laid out anew (rows sorted by adapter so that each adapter's rows are consecutive, the cache as short
 * as its longest row). A finished request leaves its slot free (masked); the batch is laid out anew when the waste grows.
 *
 * <p>Every row sees only its own columns (the attention mask) at its own positions (given explicitly), and the
 * products of a step treat each row alone, so a row's logits do not depend on the other rows: they equal those of
 * the request decoded by itself.
 *
 * <p>Thread safety: confined to the decode thread.
 */
final class DecodeBatch implements AutoCloseable {
    private ActiveRequest[] slots = new ActiveRequest[0];
    private BatchCache cache;

    /** The requests in the batch, in slot order. */
    List<ActiveRequest> requests() {
        return Arrays.stream(slots).filter(r -> r != null).toList();
    }

    /** The slots in order, null for free ones: the rows of the next {@link #step}. */
    List<ActiveRequest> slots() {
        return Arrays.asList(slots.clone());
    }

    int size() {
        return (int) Arrays.stream(slots).filter(r -> r != null).count();
    }

    /**
     * Adds a request whose prompt was computed alone into {@code prefill} (batch 1): its positions so far are the
     * prompt's, its next input is its first generated token.
     */
    void add(ActiveRequest r, KvCache prefill) {
        int cached = r.cachedPositions();
        int free = freeSlot();
        if (free >= 0 && cache.length() >= cached && cache.length() + r.remainingSteps() <= cache.capacity()) {
            cache.copyPrefill(prefill, cached, free);
            slots[free] = r;
            return;
        }
        List<ActiveRequest> rows = new ArrayList<>(requests());
        rows.add(r);
        layOut(rows, prefill, (next, index) -> {
            if (rows.get(index) == r) {
                next.copyPrefill(prefill, cached, index);
            }
        });
    }

    /** Frees the slot of a finished request. */
    void remove(ActiveRequest r) {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == r) {
                slots[i] = null;
            }
        }
        if (size() == 0) {
            close();
            slots = new ActiveRequest[0];
        }
    }

    /** Lays the batch out anew when free slots or columns left of the rows waste more than a quarter / half of it. */
    void compactIfWasteful() {
        if (cache == null) {
            return;
        }
        int free = slots.length - size();
        long used = requests().stream().mapToLong(ActiveRequest::cachedPositions).sum();
        long columns = (long) slots.length * cache.length();
        if (4L * free >= slots.length || 2 * used < columns) {
            layOut(new ArrayList<>(requests()), null, (next, index) -> { });
        }
    }

    /**
     * One decoding step: every request feeds its newest token at its own position. Must not be empty.
     *
     * @return per slot its next token (chosen on the device, or logits to choose from), null for free slots
     */
    NextToken[] step(AdapterSet adapters) {
        int b = slots.length;
        int past = cache.length();
        long[][] ids = new long[b][1];
        int[][] positions = new int[b][1];
        int[] lengths = new int[b];
        long[][] mask = new long[b][past + 1];
        LoraAdapter[] rowAdapters = new LoraAdapter[b];
        for (int i = 0; i < b; i++) {
            ActiveRequest r = slots[i];
            mask[i][past] = 1; // a free slot sees only its own (padding) token: every row keeps a finite softmax
            if (r != null) {
                ids[i][0] = r.lastToken();
                positions[i][0] = r.cachedPositions();
                lengths[i] = r.cachedPositions() + 1;
                Arrays.fill(mask[i], past - r.cachedPositions(), past, 1);
                rowAdapters[i] = r.adapter();
            }
        }
        NextToken[] next;
        try (var scope = TensorScope.open()) {
            Tensor logits = adapters.nextTokenLogits(rowAdapters, new ModelInput(ids, null, mask, null, cache.forStep(),
                    positions, lengths));
            next = NextToken.of(logits, slots);
        }
        cache.advance(1);
        return next;
    }

    /** What a new layout copies into a row besides the rows of the old one. */
    @FunctionalInterface
    private interface RowFiller {
        void fill(BatchCache next, int index);
    }

    /**
     * A new cache with exactly the given rows, sorted by adapter, as short as the longest row and with room for the
     * longest remaining generation; the rows of the old cache are copied over.
     *
     * @param like a cache for the new one's layout, or null to take the old cache's
     */
    private void layOut(List<ActiveRequest> rows, KvCache like, RowFiller filler) {
        rows.sort(Comparator.comparingLong(ActiveRequest::adapterOrder));
        int length = rows.stream().mapToInt(ActiveRequest::cachedPositions).max().orElse(0);
        int room = rows.stream().mapToInt(ActiveRequest::remainingSteps).max().orElse(0);
        BatchCache next = new BatchCache(rows.size(), length + room, length, like != null ? like : cache.forStep());
        try {
            for (int i = 0; i < rows.size(); i++) {
                int old = indexOf(rows.get(i));
                if (old >= 0) {
                    cache.copyRowTo(next, old, rows.get(i).cachedPositions(), i);
                } else {
                    filler.fill(next, i);
                }
            }
        } catch (RuntimeException e) {
            next.close();
            throw e;
        }
        close();
        cache = next;
        slots = rows.toArray(ActiveRequest[]::new);
    }

    private int indexOf(ActiveRequest r) {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == r) {
                return i;
            }
        }
        return -1;
    }

    private int freeSlot() {
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] == null) {
                return i;
            }
        }
        return -1;
    }

    /** Frees the cache (the requests stay with the caller). */
    @Override
    public void close() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }
}
