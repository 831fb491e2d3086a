package dev.finetune4j.onnx;

import dev.finetune4j.core.tensor.Tensor;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A model's state dict handed out to the graph by Hugging Face name, each tensor once, so that an export that
 * leaves a tensor unused (an unmerged adapter's, or one of a layout this exporter does not know) fails instead of
 * silently computing something else than the model.
 */
final class StateDictWeights {
    private static final String MERGE_HINT = "export the plain model: merge an adapter first with "
            + "PeftModel.mergeAndUnload() (a classifier's: PeftClassifier.mergeAndUnload()), which returns the base "
            + "model with the adapter folded into its weights";

    private final Map<String, Tensor> remaining;
    private final GraphBuilder graph;

    StateDictWeights(Map<String, Tensor> stateDict, GraphBuilder graph) {
        this.remaining = new LinkedHashMap<>(stateDict);
        this.graph = graph;
    }

    /** The weight {@code name} as stored; returns its initializer's name (the same). */
    String asStored(String name) throws IOException {
        return graph.weight(name, take(name), false);
    }

    /** An nn.Linear weight (out, in), stored transposed (in, out) for MatMul under the name {@code name + ".T"}. */
    String transposed(String name) throws IOException {
        return graph.weight(name + ".T", take(name), true);
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
            remaining.put(expertName.apply(e), stacked.slice(0, e, e + 1).reshape(slice));
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
