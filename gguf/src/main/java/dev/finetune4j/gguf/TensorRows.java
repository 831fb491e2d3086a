package dev.finetune4j.gguf;

import dev.finetune4j.core.backend.Device;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * The rows of a model tensor as GGUF writes them: the last PyTorch dimension is a row. The tensor is read when its
 * data is written: a float32 tensor in host memory straight from its storage, any other (bf16, f16, a view, on a
 * GPU, NF4) through one float32 host copy of that tensor alone, freed before the next tensor.
 */
final class TensorRows {
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorRows() {
    }

    /** ggml's dimensions of {@code t}: its PyTorch shape reversed. */
    static long[] ggmlDims(Tensor t) {
        long[] dims = new long[t.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = t.dim(t.rank() - 1 - i);
        }
        return dims;
    }

    /**
     * The rows of {@code t} where file row {@code r} is the tensor's row {@code sourceRow(r)} (a permutation of a
     * matrix's output rows), within it file column {@code i} its column {@code sourceColumn(i)} (null: in order), each
     * value times its source row's factor ({@code factors}, null: none) and then mapped by {@code values} (in float32,
     * as the converter computes it).
     */
    static GgufTensor.Rows reordered(Tensor t, IntUnaryOperator sourceRow, IntUnaryOperator sourceColumn,
                                     Placement.RowFactors factors, Placement.Values values) {
        return reordered(t, sourceRow, sourceColumn, factors, values, Math.toIntExact(t.numel() / t.dim(t.rank() - 1)));
    }

    /**
     * {@link #reordered(Tensor, IntUnaryOperator, IntUnaryOperator, Placement.RowFactors, Placement.Values)} with
     * {@code rowCount} file rows, fewer than the tensor's where the row order selects some of them
     * ({@link Placement.SelectedRows}).
     */
    static GgufTensor.Rows reordered(Tensor t, IntUnaryOperator sourceRow, IntUnaryOperator sourceColumn,
                                     Placement.RowFactors factors, Placement.Values values, int rowCount) {
        return sink -> {
            int rowLength = t.dim(t.rank() - 1);
            float[] read = new float[rowLength];
            float[] row = sourceColumn == null ? read : new float[rowLength];
            try (TensorScope scope = TensorScope.open()) {
                Tensor f32 = t.dtype() == DType.F32 && t.isContiguous() ? t : t.convertTo(DType.F32, scope);
                Tensor host = f32.device().isCpu() ? f32 : f32.copyTo(Device.cpu(), scope);
                MemorySegment data = host.hostSegment().asSlice(DType.F32.bytesFor(host.offset()),
                        DType.F32.bytesFor(host.numel()));
                for (int r = 0; r < rowCount; r++) {
                    int source = sourceRow.applyAsInt(r);
                    MemorySegment.copy(data, FLOAT_LE, (long) source * rowLength * Float.BYTES, read, 0, rowLength);
                    for (int i = 0; sourceColumn != null && i < rowLength; i++) {
                        row[i] = read[sourceColumn.applyAsInt(i)];
                    }
                    float factor = factors == null ? 1f : factors.of(source);
                    for (int i = 0; factor != 1f && i < rowLength; i++) {
                        row[i] *= factor;
                    }
                    for (int i = 0; values != Placement.Values.NONE && i < rowLength; i++) {
                        row[i] = values.apply(row[i]);
                    }
                    sink.accept(row);
                }
            }
        };
    }

    /** One row of values computed at export time (rotary factors). */
    static GgufTensor.Rows of(float[] values) {
        return of(values, values.length);
    }

    /** {@code values} as rows of {@code rowLength} (an importance matrix's per-expert sums and counts). */
    static GgufTensor.Rows of(float[] values, int rowLength) {
        return sink -> {
            for (int start = 0; start < values.length; start += rowLength) {
                sink.accept(Arrays.copyOfRange(values, start, start + rowLength));
            }
        };
    }
}
