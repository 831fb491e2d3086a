package dev.finetune4j.gguf;

import dev.finetune4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * Where one Hugging Face weight goes in a GGUF file, and how it is turned on the way.
 *
 * @param hfName     its name in the model's state dict
 * @param ggufName   its GGUF name
 * @param rowOrder   file row r is the weight's row {@code rowOrder(r)}; null keeps the order
 * @param shift      added to every value: 1 for Gemma's norms, which scale by {@code 1 + w} where llama.cpp scales
 *                   by the stored weight
 * @param transposed whether the weight is stored (in, out), as GPT-2's Conv1D, and written (out, in)
 */
record Placement(String hfName, String ggufName, IntUnaryOperator rowOrder, float shift, boolean transposed) {
    private static final String MERGE_HINT = "export the plain model: merge an adapter first with "
            + "PeftModel.mergeAndUnload() (the CLI's export-gguf --adapter does), or export a LoRA adapter alone as an "
            + "adapter GGUF (GgufExporter.exportLora)";

    /** A weight written as it is. */
    static Placement plain(String hfName, String ggufName) {
        return new Placement(hfName, ggufName, null, 0f, false);
    }

    /**
     * The tensors of {@code stateDict} under their GGUF names, in the placements' order, stored as {@code type}
     * decides: each tensor taken once, and one left over (an adapter that was not merged) refused.
     */
    static List<GgufTensor> takeAll(Map<String, Tensor> stateDict, List<Placement> placements, GgufType type,
                                    ModelLayout layout) {
        Map<String, Tensor> remaining = new LinkedHashMap<>(stateDict);
        List<GgufTensor> out = new ArrayList<>();
        for (Placement p : placements) {
            Tensor t = remaining.remove(p.hfName());
            if (t == null) {
                throw new IllegalArgumentException("the model has no tensor '" + p.hfName() + "', which GGUF's "
                        + p.ggufName() + " needs; " + MERGE_HINT);
            }
            out.add(p.tensor(p.ggufName(), t, type, layout));
        }
        if (!remaining.isEmpty()) {
            throw new IllegalArgumentException("the model holds " + remaining.size() + " tensors that GGUF's "
                    + layout.architecture() + " architecture has no place for, such as "
                    + remaining.keySet().stream().limit(5).toList() + "; " + MERGE_HINT);
        }
        return out;
    }

    /**
     * {@code t} (this placement's weight, or a LoRA factor of it) under {@code name}, turned as placed and stored as
     * {@code type} stores it in a model of {@code layout}.
     */
    GgufTensor tensor(String name, Tensor t, GgufType type, ModelLayout layout) {
        Tensor view = transposed ? t.transpose(0, 1) : t;
        long[] dims = TensorRows.ggmlDims(view);
        return new GgufTensor(name, dims, type.storageOf(name, dims, layout),
                TensorRows.reordered(view, rowOrder == null ? IntUnaryOperator.identity() : rowOrder, shift));
    }
}
