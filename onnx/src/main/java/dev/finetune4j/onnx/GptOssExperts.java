package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.MoeConfig;

import java.io.IOException;
import java.util.List;

/**
 * gpt-oss's experts in the graph, what core's {@link FusedExperts} computes in its gpt-oss layout: expert e's tokens x
 * (M, C) times its slice of the stacked {@code gate_up_proj} (E, C, 2I) (multiplied from the right, as stored) plus
 * its {@code gate_up_proj_bias}, whose columns alternate gate and up; then {@link Activations#clampedSwiglu}: the gate
 * clamped from above and the up half from both sides at {@code swiglu_limit}, {@code (up + 1) gate
 * sigmoid(swiglu_alpha gate)}; then its slice of {@code down_proj} (E, I, C) plus {@code down_proj_bias}. The stacked
 * tensors are cut per expert at export time ({@link StateDictWeights#unstack}), so each expert multiplies only the
 * tokens routed to it by its own initializers.
 */
final class GptOssExperts implements ExpertsGraph.Expert {
    private final GraphBuilder g;
    private final StateDictWeights w;
    /** The experts' prefix, {@code model.layers.N.mlp.experts.}. */
    private final String p;
    private final int width;
    private final float alpha;
    private final float limit;

    /** The experts under {@code prefix} (ending in {@code experts.}), their stacked weights cut per expert. */
    GptOssExperts(GraphBuilder g, StateDictWeights w, String prefix, MoeConfig moe) {
        this.g = g;
        this.w = w;
        this.p = prefix;
        this.width = moe.expertIntermediateSize();
        this.alpha = moe.swigluAlpha();
        this.limit = moe.swigluLimit();
        for (String stacked : List.of(FusedExperts.GATE_UP, FusedExperts.GATE_UP + "_bias", FusedExperts.DOWN,
                FusedExperts.DOWN + "_bias")) {
            w.unstack(prefix + stacked, e -> prefix + e + "." + stacked);
        }
    }

    /** tokens (M, C) -> (M, C). */
    @Override
    public String apply(int expert, String tokens) throws IOException {
        String e = p + expert + ".";
        String gateUp = g.op("Add", List.of(g.op("MatMul", List.of(tokens, w.linearStoredInOut(e + FusedExperts.GATE_UP))),
                w.asStored(e + FusedExperts.GATE_UP + "_bias")));                                      // (M, 2I)
        // NOTE: interleaved, not halves: column 2i is pair i's gate, 2i + 1 its up
        String pairs = g.op("Reshape", List.of(gateUp, g.ints(-1, width, 2)));                      // (M, I, 2)
        String gate = g.op("Min", List.of(column(pairs, 0), g.scalar(limit)));
        String up = g.op("Clip", List.of(column(pairs, 1), g.scalar(-limit), g.scalar(limit)));
        String glu = g.op("Mul", List.of(gate, g.op("Sigmoid", List.of(g.op("Mul", List.of(gate, g.scalar(alpha)))))));
        String activated = g.op("Mul", List.of(g.op("Add", List.of(up, g.scalar(1f))), glu));      // (M, I)
        return g.op("Add", List.of(g.op("MatMul", List.of(activated, w.linearStoredInOut(e + FusedExperts.DOWN))),
                w.asStored(e + FusedExperts.DOWN + "_bias")));
    }

    /** pairs (M, I, 2) -> (M, I): the gate (0) or up (1) of each pair. */
    private String column(String pairs, long index) {
        return g.op("Squeeze", List.of(g.op("Slice", List.of(pairs, g.ints(index), g.ints(index + 1), g.ints(2))),
                g.ints(2)));
    }
}
