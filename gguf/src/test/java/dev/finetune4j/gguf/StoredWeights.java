package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Rounds a model's weight matrices in place to the values a GGUF of a given type stores, by encoding each row as the
 * exporter does and decoding it as ggml does ({@link GgmlDecoder}): finetune4j then computes the model llama.cpp reads
 * from the file. A row's blocks depend on that row alone, so a decoder's rows are rounded in Hugging Face's order; the
 * type of each matrix is chosen under its GGUF name, as the export chooses it.
 */
final class StoredWeights {
    private StoredWeights() {
    }

    /**
     * Every rank-2 tensor of {@code model} (its matrices; norms and biases are 1-D and stay float32), quantized under
     * {@code importance} where it holds weights for the matrix (null: none).
     */
    static void roundInPlace(LanguageModel model, GgufType type, ImportanceMatrix importance) {
        ModelLayout layout = ModelMapping.of(model).layout();
        Map<String, String> ggufNames = model instanceof DecoderModel decoder
                ? new DecoderMapping(decoder).placements().stream()
                        .collect(Collectors.toMap(Placement::hfName, Placement::ggufName))
                : Map.of();
        for (var e : model.stateDict().entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() != 2) {
                continue;
            }
            int rowLength = t.dim(1);
            String ggufName = ggufNames.getOrDefault(e.getKey(), e.getKey());
            GgmlType storage = type.storageOf(ggufName, TensorRows.ggmlDims(t), layout);
            float[] weights = importance == null ? null : importance.columnWeights(ggufName);
            float[] values = t.toFloatArray();
            float[] row = new float[rowLength];
            ByteBuffer bytes = ByteBuffer.allocate((int) storage.rowBytes(rowLength)).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < t.dim(0); r++) {
                System.arraycopy(values, r * rowLength, row, 0, rowLength);
                storage.encodeRow(row, weights, bytes.clear());
                GgmlDecoder.decode(storage, bytes.flip(), values, r * rowLength, rowLength);
            }
            t.copyFrom(values);
        }
    }
}
