package dev.finetune4j.peft.serve;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.nn.KvCache;
import dev.finetune4j.core.tensor.Shape;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * The running batch's keys and values: per attention layer one buffer (rows, Hkv, capacity, D) in a scope of its own,
 * whose first {@link #length()} columns are filled (a latent attention layer's keys alone: its latents, one head).
 * All rows advance one column per decoding step, so each row's positions end at the shared right end: a row holding
 * n positions occupies columns {@code [length - n, length)} and the columns before them are masked out. A recurrent layer (Qwen3.5's linear attention, a Mamba-2 layer) holds
 * instead each row's recurrent state, whatever its length: its convolution's last inputs and its recurrence's state;
 * a hybrid layer (Falcon-H1's) holds both, a layer that mixes no tokens (Nemotron-H's MLP layers) neither.
 *
 * <p>Thread safety: confined to the decode thread.
 */
final class BatchCache implements AutoCloseable {
    private final TensorScope scope;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final Tensor[][] recurrent;
    private final int capacity;
    private int length;

    /**
     * Zero-filled buffers (masked columns must hold finite values: attention multiplies them by probability 0), laid
     * out per layer as {@code like}'s: keys and values where it has them, a recurrent state where it has one.
     *
     * @param like a cache of the model that every layer has used (a prompt's), for the shapes, dtypes and device
     */
    BatchCache(int rows, int capacity, int length, KvCache like) {
        int layers = like.layers();
        Device device = null;
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.recurrent = new Tensor[layers][];
        this.capacity = capacity;
        this.length = length;
        for (int l = 0; l < layers && device == null; l++) { // the first layer that keeps something
            Tensor any = like.keys(l) != null ? like.keys(l)
                    : like.recurrentState(l) != null ? like.recurrentState(l)[0] : null;
            device = any == null ? null : any.device();
        }
        this.scope = TensorScope.detached(device);
        for (int l = 0; l < layers; l++) {
            Tensor k = like.keys(l);
            if (k != null) {
                Shape shape = Shape.of(rows, k.dim(1), capacity, k.dim(3));
                keys[l] = Tensor.zeros(scope, device, k.dtype(), shape);
                // a latent attention layer caches its latents as keys, with no values
                values[l] = like.values(l) == null ? null : Tensor.zeros(scope, device, k.dtype(), shape);
            }
            Tensor[] state = like.recurrentState(l);
            if (state != null) {
                recurrent[l] = new Tensor[state.length];
                for (int i = 0; i < state.length; i++) {
                    recurrent[l][i] = Tensor.zeros(scope, device, state[i].dtype(), state[i].shape().with(0, rows));
                }
            }
        }
    }

    int capacity() {
        return capacity;
    }

    /** Filled columns, shared by every row. */
    int length() {
        return length;
    }

    /** A cache for the next forward pass, appending at column {@link #length()}; call {@link #advance()} after it. */
    KvCache forStep() {
        return KvCache.preallocated(keys, values, recurrent, length);
    }

    /** Records the {@code columns} the last forward pass appended (one per decoding step, a chunk's length while prefilling). */
    void advance(int columns) {
        length += columns;
    }

    /**
     * Copies row {@code fromRow} of another cache into row {@code row} of this one: its last {@code count} positions,
     * ending at column {@code fromEnd}, to the shared right end; and its recurrent states.
     */
    private void copyRow(KvCache from, int fromRow, int fromEnd, int count, int row) {
        for (int l = 0; l < keys.length; l++) {
            if (keys[l] != null) {
                copy(from.keys(l), fromRow, fromEnd - count, keys[l], row, length - count, count);
            }
            if (values[l] != null) {
                copy(from.values(l), fromRow, fromEnd - count, values[l], row, length - count, count);
            }
            if (recurrent[l] != null) {
                Tensor[] state = from.recurrentState(l);
                for (int i = 0; i < state.length; i++) {
                    Tensor dst = recurrent[l][i].slice(0, row, row + 1);
                    dst.backend().copy().copy(state[i].slice(0, fromRow, fromRow + 1), dst);
                }
            }
        }
    }

    /** Copies one row of a prefill cache (batch 1) holding {@code count} positions into row {@code row}. */
    void copyPrefill(KvCache prefill, int count, int row) {
        copyRow(prefill, 0, count, count, row);
    }

    /** Copies this cache's row {@code fromRow} (its last {@code count} positions) into {@code to}'s row {@code row}. */
    void copyRowTo(BatchCache to, int fromRow, int count, int row) {
        to.copyRow(forStep(), fromRow, length, count, row);
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
