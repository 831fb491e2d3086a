package dev.finetune4j.gguf;

import dev.finetune4j.core.models.LanguageModel;
import dev.finetune4j.core.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;
import java.util.stream.Collectors;

/**
 * Rounds a model's weight matrices in place to the values a GGUF of a given type stores, by encoding each row as the
 * exporter does and decoding it as ggml does ({@link GgmlDecoder}): finetune4j then computes the model llama.cpp reads
 * from the file. A row's blocks depend on that row alone, so each weight is rounded along the rows the file holds of
 * it, read through its placement's view: a weight the file stores transposed (GPT-2's Conv1D) along its columns, a
 * weight written in parts (Granite 4's input_linear, gpt-oss's stacked experts) part by part, each as its tensor, and
 * each row in the file's column order (Qwen3.5's out_proj, its value heads regrouped), a weight whose rows several
 * tensors select (Qwen3-Next's in_proj_qkvz) whole, once, and a row the file scales (Falcon-H1's baked multipliers)
 * rounded as scaled and scaled back. The type of each matrix is chosen under its GGUF name, as the export chooses it.
 */
final class StoredWeights {
    private StoredWeights() {
    }

    /**
     * Every matrix of {@code model} as the file holds it (norms and biases are 1-D or stay float32), quantized under
     * {@code importance} where it holds weights for the matrix (null: none); an expert's matrix under its own run of
     * the stacked tensor's weights.
     */
    static void roundInPlace(LanguageModel model, GgufType type, ImportanceMatrix importance) {
        ModelMapping mapping = ModelMapping.of(model);
        Map<String, List<Placement>> byWeight = mapping.placements().stream()
                .collect(Collectors.groupingBy(Placement::hfName));
        for (var e : model.stateDict().entrySet()) {
            Tensor t = e.getValue();
            List<Placement> placements = byWeight.get(e.getKey());
            if (placements == null || !t.isContiguous()) {
                continue;
            }
            float[] values = t.toFloatArray();
            // a weight whose rows the file selects for several tensors (Qwen3-Next's in_proj_qkvz) rounds row by row once
            boolean selected = placements.stream().allMatch(p -> p.part() instanceof Placement.SelectedRows);
            for (Placement p : selected ? placements.subList(0, 1) : placements) {
                Tensor placed = p.transposed() ? t.transpose(0, 1) : t;
                Tensor view = p.part() == null ? placed : p.part().of(placed); // a part rounds as its own tensor
                if (view.rank() == 2) {
                    roundRows(view, view.offset() - t.offset(), values, type, p,
                            mapping.layout().withImportanceMatrix(importance != null), importance);
                }
            }
            t.copyFrom(values);
        }
    }

    /**
     * Rounds the rows of {@code view}, a matrix view of the weight whose values are {@code values}, in place: element
     * (r, i) is {@code values[start + r * stride0 + i * stride1]}.
     */
    private static void roundRows(Tensor view, long start, float[] values, GgufType type, Placement p,
                                  ModelLayout layout, ImportanceMatrix importance) {
        int rows = view.dim(0);
        int rowLength = view.dim(1);
        long[] strides = view.strides();
        GgmlType storage = type.storageOf(p.ggufName(), new long[] {rowLength, rows}, layout);
        float[] weights = importance == null ? null : importance.columnWeights(p.ggufName());
        if (weights != null && p.isExpert()) { // the stacked tensor's weights: this expert's run of them
            weights = Arrays.copyOfRange(weights, p.expert() * rowLength, (p.expert() + 1) * rowLength);
        }
        float[] row = new float[rowLength];
        float[] decoded = new float[rowLength];
        ByteBuffer bytes = ByteBuffer.allocate((int) storage.rowBytes(rowLength)).order(ByteOrder.LITTLE_ENDIAN);
        IntUnaryOperator column = p.columnOrder() == null ? IntUnaryOperator.identity() : p.columnOrder();
        for (int r = 0; r < rows; r++) {
            // a row the file holds times its factor (Falcon-H1's baked multipliers) is rounded, and read back without it
            float factor = p.factors() == null ? 1f : p.factors().of(r);
            for (int i = 0; i < rowLength; i++) { // in the file's column order, whose blocks are rounded together
                row[i] = factor * values[Math.toIntExact(start + r * strides[0] + column.applyAsInt(i) * strides[1])];
            }
            storage.encodeRow(row, weights, bytes.clear());
            GgmlDecoder.decode(storage, bytes.flip(), decoded, 0, rowLength);
            for (int i = 0; i < rowLength; i++) {
                values[Math.toIntExact(start + r * strides[0] + column.applyAsInt(i) * strides[1])] = decoded[i] / factor;
            }
        }
    }
}
