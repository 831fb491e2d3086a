package dev.finetune4j.peft.serve;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The running batch's keys and values: per layer one buffer (rows, Hkv, capacity, D) in a scope of its own, whose
 * first {@link #length()} columns are filled. All rows advance one column per decoding step, so each row's
 * positions end at the shared right end: a row holding n positions occupies columns {@code [length - n, length)}
 * and the columns before them are masked out.
 *
 * <p>Thread safety: confined to the decode thread.
 */
final class BatchCache implements AutoCloseable {
    private final TensorScope scope;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int capacity;
    private int length;

    /**
     * Zero-filled buffers (masked columns must hold finite values: attention multiplies them by probability 0).
     *
     * @param like a key tensor of the model (B, Hkv, S, D), for the heads, head size, dtype and device
     */
    BatchCache(int layers, int rows, int capacity, int length, Tensor like) {
        this.scope = TensorScope.detached(like.device());
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.capacity = capacity;
        this.length = length;
        Shape shape = Shape.of(rows, like.dim(1), capacity, like.dim(3));
        Device device = like.device();
        DType dtype = like.dtype();
        for (int l = 0; l < layers; l++) {
            keys[l] = Tensor.zeros(scope, device, dtype, shape);
            values[l] = Tensor.zeros(scope, device, dtype, shape);
        }
    }

    int capacity() {
        return capacity;
    }

    /** A key buffer, for the shape of a new layout. */
    Tensor keysLike() {
        return keys[0];
    }

    /** Filled columns, shared by every row. */
    int length() {
        return length;
    }

    /** A cache for the next forward pass, appending at column {@link #length()}; call {@link #advance()} after it. */
    KvCache forStep() {
        return KvCache.preallocated(keys, values, length);
    }

    /** Records the {@code columns} the last forward pass appended (one per decoding step, a chunk's length while prefilling). */
    void advance(int columns) {
        length += columns;
    }

    /**
     * Copies {@code count} positions of row {@code fromRow} of another cache, ending at its column {@code fromEnd},
     * into row {@code row} of this one, ending at the shared right end.
     *
     * @param fromKeys   the other cache's keys per layer (B, Hkv, S, D)
     * @param fromValues its values
     */
    void copyRow(Tensor[] fromKeys, Tensor[] fromValues, int fromRow, int fromEnd, int count, int row) {
        for (int l = 0; l < keys.length; l++) {
            copy(fromKeys[l], fromRow, fromEnd - count, keys[l], row, length - count, count);
            copy(fromValues[l], fromRow, fromEnd - count, values[l], row, length - count, count);
        }
    }

    /** Copies one row of a prefill cache (batch 1) holding {@code count} positions into row {@code row}. */
    void copyPrefill(KvCache prefill, int count, int row) {
        Tensor[] k = new Tensor[keys.length];
        Tensor[] v = new Tensor[keys.length];
        for (int l = 0; l < keys.length; l++) {
            k[l] = prefill.keys(l);
            v[l] = prefill.values(l);
        }
        copyRow(k, v, 0, count, count, row);
    }

    /** Copies this cache's row {@code fromRow} (its last {@code count} positions) into {@code to}'s row {@code row}. */
    void copyRowTo(BatchCache to, int fromRow, int count, int row) {
        to.copyRow(keys, values, fromRow, length, count, row);
    }

    private static void copy(Tensor from, int fromRow, int fromColumn, Tensor to, int row, int column, int count) {
        Tensor src = from.slice(0, fromRow, fromRow + 1).slice(2, fromColumn, fromColumn + count);
        Tensor dst = to.slice(0, row, row + 1).slice(2, column, column + count);
        to.backend().copy().copy(src, dst);
    }

    @Override
    public void close() {
        scope.close();
    }
}
