package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

/**
 * Rounds a model's weight matrices in place to the values a GGUF of a given type stores, by encoding each row as the
 * exporter does and decoding it as ggml does ({@link GgmlDecoder}): finetune4j then computes the model llama.cpp reads
 * from the file. A row's blocks depend on that row alone, so the rows are rounded in Hugging Face's order (a permuted
 * q/k projection rounds the same rows), but along the file's rows: a weight the file stores transposed (GPT-2's
 * Conv1D) is rounded along its columns. The type of each matrix is chosen under its GGUF name, as the export chooses
 * it.
 */
final class StoredWeights {
    private StoredWeights() {
    }

    /**
     * Every rank-2 tensor of {@code model} (its matrices; norms and biases are 1-D and stay float32), quantized under
     * {@code importance} where it holds weights for the matrix (null: none); an expert's matrix under its own run of
     * the stacked tensor's weights.
     */
    static void roundInPlace(LanguageModel model, GgufType type, ImportanceMatrix importance) {
        ModelMapping mapping = ModelMapping.of(model);
        Map<String, Tensor> stateDict = model.stateDict();
        for (Placement p : mapping.placements()) {
            Tensor t = stateDict.get(p.hfName());
            if (t == null || t.rank() != 2) {
                continue;
            }
            boolean transposed = p.transposed();
            int rows = t.dim(transposed ? 1 : 0);
            int rowLength = t.dim(transposed ? 0 : 1);
            // a weight written in parts (Granite 4's input_linear) is rounded part by part, each as its tensor
            int first = p.part() == null ? 0 : p.part().first();
            int end = p.part() == null ? rows : first + p.part().count();
            GgmlType storage = type.storageOf(p.ggufName(), new long[] {rowLength, end - first}, mapping.layout());
            float[] weights = importance == null ? null : importance.columnWeights(p.ggufName());
            if (weights != null && p.isExpert()) { // the stacked tensor's weights: this expert's run of them
                weights = Arrays.copyOfRange(weights, p.expert() * rowLength, (p.expert() + 1) * rowLength);
            }
            float[] values = t.toFloatArray();
            float[] row = new float[rowLength];
            float[] decoded = new float[rowLength];
            ByteBuffer bytes = ByteBuffer.allocate((int) storage.rowBytes(rowLength)).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = first; r < end; r++) {
                for (int i = 0; i < rowLength; i++) {
                    row[i] = values[transposed ? i * rows + r : r * rowLength + i];
                }
                storage.encodeRow(row, weights, bytes.clear());
                GgmlDecoder.decode(storage, bytes.flip(), decoded, 0, rowLength);
                for (int i = 0; i < rowLength; i++) {
                    values[transposed ? i * rows + r : r * rowLength + i] = decoded[i];
                }
            }
            t.copyFrom(values);
        }
    }
}
