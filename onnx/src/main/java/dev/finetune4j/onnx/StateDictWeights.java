package dev.finetune4j.onnx;

import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A model's state dict handed out to the graph by Hugging Face name, each tensor once, so that an export that
 * leaves a tensor unused (an unmerged adapter's, or one of a layout this exporter does not know) fails instead of
 * silently computing something else than the model. NF4 weights (a QLoRA base) are written dequantized, one weight
 * (or one expert of a stacked weight) at a time.
 */
final class StateDictWeights {
    private static final String MERGE_HINT = "export the plain model: merge an adapter first with "
            + "PeftModel.mergeAndUnload() (a classifier's: PeftClassifier.mergeAndUnload()), which returns the base "
            + "model with the adapter folded into its weights";

    private final Map<String, Tensor> remaining;
    /** An NF4 expert's stacked weight and the index of its first value there: NF4 is dequantized from whole tensors. */
    private final Map<String, Nf4Slice> nf4Experts = new LinkedHashMap<>();
    private final GraphBuilder graph;

    StateDictWeights(Map<String, Tensor> stateDict, GraphBuilder graph) {
        this.remaining = new LinkedHashMap<>(stateDict);
        this.graph = graph;
    }

    /** The weight {@code name} as stored; returns its initializer's name (the same). */
    String asStored(String name) throws IOException {
        return write(name, name, false, false);
    }

    /**
     * An nn.Linear weight (out, in), stored transposed (in, out) for MatMul under the name {@code name + ".T"}, float32
     * in every export (the routers of mixtures of experts, which quantized exports keep exact).
     */
    String transposed(String name) throws IOException {
        return write(name + ".T", name, true, false);
    }

    /**
     * A linear layer's weight (out, in) as its MatMul operand (in, out), under the name {@code name + ".T"}: float32,
     * or dequantized from blocks in a quantized export ({@link GraphBuilder#linearWeight}).
     */
    String linear(String name) throws IOException {
        return write(name + ".T", name, true, true);
    }

    /**
     * A linear weight stored (in, out) already (GPT-2's Conv1D, gpt-oss's experts) as its MatMul operand: float32,
     * or dequantized from blocks in a quantized export.
     */
    String linearStoredInOut(String name) throws IOException {
        return write(name, name, false, true);
    }

    /** The weight {@code name} as stored, or null when the model has none (an optional bias). */
    String optional(String name) throws IOException {
        return remaining.containsKey(name) ? asStored(name) : null;
    }

    /**
     * Replaces the stacked weight {@code name}, (E, ...) as Granite's and gpt-oss's experts store them (Granite's
     * (E, out, in), gpt-oss's (E, in, out) and its biases (E, out)), by its E slices (...) under the names
     * {@code expertName} gives each expert, so that each expert's initializers hold its own weights once; the slices
     * are views, copied only as they are written.
     */
    void unstack(String name, IntFunction<String> expertName) {
        Tensor stacked = take(name);
        if (stacked.rank() < 2) {
            throw new IllegalArgumentException("the stacked expert weight '" + name + "' has shape " + stacked.shape()
                    + ", not (experts, ...) with one slice per expert: export the checkpoint as its family stores it");
        }
        int[] slice = Arrays.copyOfRange(stacked.shape().dims(), 1, stacked.rank());
        for (int e = 0; e < stacked.dim(0); e++) {
            Tensor expert = stacked.slice(0, e, e + 1).reshape(slice);
            remaining.put(expertName.apply(e), expert);
            if (stacked.dtype() == DType.NF4) {
                nf4Experts.put(expertName.apply(e), new Nf4Slice(stacked, (long) e * expert.numel()));
            }
        }
    }

    /** Writes weight {@code name} as {@code initializer}; a {@code linear} one as {@link GraphBuilder#linearWeight}. */
    private String write(String initializer, String name, boolean transpose, boolean linear) throws IOException {
        Tensor weight = take(name);
        try (TensorScope scope = TensorScope.open()) {
            Nf4Slice expert = weight.dtype() == DType.NF4 ? nf4Experts.remove(name) : null;
            Tensor values = weight.dtype() != DType.NF4 ? weight
                    : expert == null ? weight.convertTo(DType.F32, scope) : expert.dequantized(weight, scope);
            return linear ? graph.linearWeight(initializer, values, transpose)
                    : graph.weight(initializer, values, transpose);
        }
    }

    /** Values [first, first + n) of the NF4 tensor {@code whole}, n being the expert's size. */
    private record Nf4Slice(Tensor whole, long first) {
        Tensor dequantized(Tensor expert, TensorScope scope) {
            Tensor values = Tensor.empty(scope, expert.device(), DType.F32, expert.shape());
            whole.backend().quantization().dequantizeNf4(whole, first, values);
            return values;
        }
    }

    /** Fails when a tensor of the model was not used by the graph. */
    void requireAllUsed() {
        if (!remaining.isEmpty()) {
            throw new IllegalArgumentException("the model holds " + remaining.size() + " tensors that its ONNX graph "
                    + "would not use, such as " + remaining.keySet().stream().limit(5).toList() + "; " + MERGE_HINT);
        }
    }

    private Tensor take(String name) {
        Tensor t = remaining.remove(name);
        if (t == null) {
            throw new IllegalArgumentException("the model has no tensor '" + name + "', which its ONNX graph needs; "
                    + MERGE_HINT);
        }
        return t;
    }
}
