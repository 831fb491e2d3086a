package dev.finetune4j.onnx;

import dev.finetune4j.core.backend.RotaryLayout;
import dev.finetune4j.core.models.decoder.RopeConfig;
import dev.finetune4j.core.models.decoder.RotaryFrequencies;

import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * The rotary embedding of one layer type in the graph (Gemma 3's sliding layers have their own), node for node what
 * core's {@link RotaryFrequencies} and Rotary compute: angles position * inv_freq in float32, cos and sin scaled by
 * the scaling's attention factor, and the first R of a head's D dimensions rotated in the rotate-half layout or in
 * adjacent pairs (GLM, ERNIE 4.5, Cohere) (R < D with a partial rotary factor, the rest passed through). Phi-3's longrope picks its long frequencies in the graph
 * when a position reaches {@code original_max_position_embeddings}.
 */
final class RotaryGraph {
    private final GraphBuilder g;
    private final int headDim;
    private final int rotaryDim;
    private final RotaryLayout layout;
    /** (B, 1, S, R/2) each, broadcast over heads. */
    private final String cos;
    private final String sin;

    /**
     * The cos and sin tables of {@code rope} for {@code positions}, float (B, S, 1), the new tokens' positions; the
     * frequencies are stored as initializers named {@code name + ".inv_freq"} (name unique per layer type).
     */
    RotaryGraph(GraphBuilder g, RopeConfig rope, int headDim, int rotaryDim, RotaryLayout layout, String positions,
                String name) {
        this.g = g;
        this.headDim = headDim;
        this.rotaryDim = rotaryDim;
        this.layout = layout;
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
                r.longFactor(), r.longFactor(), r.alpha(), r.mscaleAllDim(), r.rotatedFraction());
        String longFreq = g.floats(name + ".long_inv_freq", RotaryFrequencies.of(longOnly, rotaryDim).invFreq());
        String largest = g.op("ReduceMax", List.of(positions), intAttr("keepdims", 0));             // scalar
        String beyond = g.op("GreaterOrEqual", List.of(largest, g.scalar((float) r.originalMaxPositionEmbeddings())));
        return g.op("Where", List.of(beyond, longFreq, shortFreq));
    }

    /**
     * Rotates x (B, H, S, D): (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) over the first R dimensions, the pairs
     * (i, i + R/2) or, interleaved, (2i, 2i + 1).
     */
    String rotate(String x) {
        long half = rotaryDim / 2;
        String rotated;
        if (layout == RotaryLayout.INTERLEAVED) {
            // (B, H, S, R) -> (B, H, S, R/2, 2): the pairs side by side on the last axis
            String pairs = g.op("Reshape", List.of(slice(x, 0, rotaryDim, 3), g.ints(0, 0, 0, half, 2)));
            String[] out = turn(slice(pairs, 0, 1, 4), slice(pairs, 1, 2, 4), g.op("Unsqueeze", List.of(cos, g.ints(4))),
                    g.op("Unsqueeze", List.of(sin, g.ints(4))));
            rotated = g.op("Reshape", List.of(g.op("Concat", List.of(out[0], out[1]), intAttr("axis", 4)),
                    g.ints(0, 0, 0, rotaryDim)));
        } else {
            String[] out = turn(slice(x, 0, half, 3), slice(x, half, rotaryDim, 3), cos, sin);
            rotated = g.op("Concat", List.of(out[0], out[1]), intAttr("axis", 3));
        }
        return rotaryDim == headDim ? rotated
                : g.op("Concat", List.of(rotated, slice(x, rotaryDim, headDim, 3)), intAttr("axis", 3));
    }

    /** {x1 cos - x2 sin, x2 cos + x1 sin}. */
    private String[] turn(String x1, String x2, String cosine, String sine) {
        return new String[]{
                g.op("Sub", List.of(g.op("Mul", List.of(x1, cosine)), g.op("Mul", List.of(x2, sine)))),
                g.op("Add", List.of(g.op("Mul", List.of(x2, cosine)), g.op("Mul", List.of(x1, sine))))};
    }

    /** x[..., from:to] along {@code axis}. */
    private String slice(String x, long from, long to, long axis) {
        return g.op("Slice", List.of(x, g.ints(from), g.ints(to), g.ints(axis)));
    }

    private String scaled(String x, float scale) {
        return scale == 1f ? x : g.op("Mul", List.of(x, g.scalar(scale)));
    }

    /** (B, S, R/2) -> (B, 1, S, R/2), broadcast over heads. */
    private String perHead(String x) {
        return g.op("Unsqueeze", List.of(x, g.ints(1)));
    }
}
