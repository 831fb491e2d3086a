package dev.finetune4j.gguf;

import java.io.IOException;
import java.util.Arrays;

/**
 * One tensor of a GGUF file: its name, its dimensions in ggml's order ({@code ne[0]} first: the length of a row,
 * i.e. PyTorch's last dimension), its storage type and where its rows come from. The rows are read only when the
 * data section is written, one tensor at a time.
 *
 * @param name  the GGUF name, e.g. {@code blk.0.attn_q.weight}
 * @param dims  ne[0], ne[1], ... (reversed PyTorch shape)
 * @param type  the storage type
 * @param rows  the float32 rows, ne[0] values each, in file order
 * @param importance a weight per column (ne[0] values) for the quantizer, from an {@link ImportanceMatrix}; for a
 *                   mixture's stacked experts (ggml dims [in, out, experts]) one such run per expert, in expert order,
 *                   as llama.cpp's imatrix holds them; or null
 */
record GgufTensor(String name, long[] dims, GgmlType type, Rows rows, float[] importance) {
    /** ggml's limit on a tensor name's bytes, its terminating NUL included ({@code GGML_MAX_NAME}). */
    static final int MAX_NAME_BYTES = 64;

    /** Hands a tensor's rows, in order, to a consumer; called once, while the tensor's data is written. */
    @FunctionalInterface
    interface Rows {
        /** Calls {@code sink} with each row in turn (the array may be reused between calls). */
        void forEach(RowSink sink) throws IOException;
    }

    /** Receives one row. */
    @FunctionalInterface
    interface RowSink {
        void accept(float[] row) throws IOException;
    }

    GgufTensor {
        int nameBytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (nameBytes >= MAX_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' has " + nameBytes + " bytes; GGUF readers "
                    + "(ggml's GGML_MAX_NAME) accept at most " + (MAX_NAME_BYTES - 1));
        }
        if (dims.length == 0 || dims.length > 4 || Arrays.stream(dims).anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("tensor '" + name + "' has dimensions " + Arrays.toString(dims)
                    + "; ggml tensors have 1 to 4 positive dimensions");
        }
        type.rowBytes(dims[0]); // a quantized row must be whole blocks
        if (importance != null && importance.length != dims[0] * matrices(dims)) {
            throw new IllegalArgumentException("the importance matrix has " + importance.length + " weights for tensor '"
                    + name + "', which needs " + dims[0] * matrices(dims) + " (rows of " + dims[0] + " values, "
                    + matrices(dims) + " matrices): it was collected from another model; collect it from the model "
                    + "you export");
        }
    }

    /** A tensor quantized without an importance matrix. */
    GgufTensor(String name, long[] dims, GgmlType type, Rows rows) {
        this(name, dims, type, rows, null);
    }

    /** This tensor quantized with {@code weights}, one per column. */
    GgufTensor withImportance(float[] weights) {
        return new GgufTensor(name, dims, type, rows, weights);
    }

    /**
     * The importance weights of each matrix the tensor stacks (ne[2] of them: one for a plain weight, one per expert),
     * as llama-quantize gives row r of a stacked tensor the weights of matrix {@code r / ne[1]}; null without them.
     */
    float[][] importanceByMatrix() {
        if (importance == null) {
            return null;
        }
        int perMatrix = Math.toIntExact(dims[0]);
        float[][] out = new float[importance.length / perMatrix][];
        for (int m = 0; m < out.length; m++) {
            out[m] = Arrays.copyOfRange(importance, m * perMatrix, (m + 1) * perMatrix);
        }
        return out;
    }

    /** Which matrix the tensor stacks row {@code row} belongs to: {@code row / ne[1]} (always 0 for a plain weight). */
    int matrixOfRow(long row) {
        return Math.toIntExact(row / (dims.length > 1 ? dims[1] : 1));
    }

    /** The matrices a tensor stacks along ne[2] (its experts), 1 for a plain weight. */
    private static long matrices(long[] dims) {
        return dims.length > 2 ? dims[2] : 1;
    }

    /** Number of rows: the product of every dimension but the first. */
    long rowCount() {
        long n = 1;
        for (int i = 1; i < dims.length; i++) {
            n = Math.multiplyExact(n, dims[i]);
        }
        return n;
    }

    /** Bytes of the data. */
    long byteSize() {
        return Math.multiplyExact(type.rowBytes(dims[0]), rowCount());
    }
}
