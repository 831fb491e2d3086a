package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.models.decoder.RotaryFrequencies;

import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * The rotary embedding of one layer type in the graph (Gemma 3's sliding layers have their own), node for node what
 * core's {@link RotaryFrequencies} and Rotary compute: angles position * inv_freq in float32, cos and sin scaled by
 * the scaling's attention factor, and the first R of a head's D dimensions rotated in the rotate-half layout (R < D
 * with a partial rotary factor, the rest passed through). Phi-3's longrope picks its long frequencies in the graph
 * when a position reaches {@code original_max_position_embeddings}.
 */
final class RotaryGraph {
    private final GraphBuilder g;
    private final int headDim;
    private final int rotaryDim;
    /** (B, 1, S, R/2) each, broadcast over heads. */
    private final String cos;
    private final String sin;

    /**
     * The cos and sin tables of {@code rope} for {@code positions}, float (B, S, 1), the new tokens' positions; the
     * frequencies are stored as initializers named {@code name + ".inv_freq"} (name unique per layer type).
     */
    RotaryGraph(GraphBuilder g, RopeConfig rope, int headDim, int rotaryDim, String positions, String name) {
        this.g = g;
        this.headDim = headDim;
        this.rotaryDim = rotaryDim;
        RotaryFrequencies frequencies = RotaryFrequencies.of(rope, rotaryDim);
        String invFreq = g.floats(name + ".inv_freq", frequencies.invFreq());
        if (rope.ropeType().equals("longrope")) {
            invFreq = longropeSwitch(rope, positions, invFreq, name);
        }
        String angles = g.op("Mul", List.of(positions, invFreq));                                  // (B, S, R/2)
        this.cos = perHead(scaled(g.op("Cos", List.of(angles)), frequencies.attentionScaling()));
        this.sin = perHead(scaled(g.op("Sin", List.of(angles)), frequencies.attentionScaling()));
    }

    /**
     * The short frequencies while every position lies below the pretrained length, the long ones once one reaches it
     * (transformers judges a pass by its largest position, as core does), chosen by a Where on a scalar condition.
     * The long frequencies are core's own: longrope's formula with the long factors in the short ones' place (the
     * attention factor depends on neither).
     */
    private String longropeSwitch(RopeConfig r, String positions, String shortFreq, String name) {
        RopeConfig longOnly = new RopeConfig(r.ropeTheta(), r.ropeType(), r.factor(), r.lowFreqFactor(),
                r.highFreqFactor(), r.originalMaxPositionEmbeddings(), r.betaFast(), r.betaSlow(), r.truncate(), r.attentionFactor(),
                r.longFactor(), r.longFactor(), r.alpha());
        String longFreq = g.floats(name + ".long_inv_freq", RotaryFrequencies.of(longOnly, rotaryDim).invFreq());
        String largest = g.op("ReduceMax", List.of(positions), intAttr("keepdims", 0));             // scalar
        String beyond = g.op("GreaterOrEqual", List.of(largest, g.scalar((float) r.originalMaxPositionEmbeddings())));
        return g.op("Where", List.of(beyond, longFreq, shortFreq));
    }

    /** Rotates x (B, H, S, D): (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) over the first R dimensions. */
    String rotate(String x) {
        long half = rotaryDim / 2;
        String x1 = slice(x, 0, half);
        String x2 = slice(x, half, rotaryDim);
        String out1 = g.op("Sub", List.of(g.op("Mul", List.of(x1, cos)), g.op("Mul", List.of(x2, sin))));
        String out2 = g.op("Add", List.of(g.op("Mul", List.of(x2, cos)), g.op("Mul", List.of(x1, sin))));
        List<String> parts = rotaryDim == headDim ? List.of(out1, out2) : List.of(out1, out2, slice(x, rotaryDim, headDim));
        return g.op("Concat", parts, intAttr("axis", 3));
    }

    /** x[..., from:to] along the head dimension. */
    private String slice(String x, long from, long to) {
        return g.op("Slice", List.of(x, g.ints(from), g.ints(to), g.ints(3)));
    }

    private String scaled(String x, float scale) {
        return scale == 1f ? x : g.op("Mul", List.of(x, g.scalar(scale)));
    }

    /** (B, S, R/2) -> (B, 1, S, R/2), broadcast over heads. */
    private String perHead(String x) {
        return g.op("Unsqueeze", List.of(x, g.ints(1)));
    }
}
