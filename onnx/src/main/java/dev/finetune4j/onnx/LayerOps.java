package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Xielu;

import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.floatAttr;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;

/**
 * The layers every transformer graph is made of, in standard ONNX ops (opset 17, or 21 with quantized weights),
 * whatever its inputs and outputs: embedding lookups, linear layers, norms, activations and the heads' transposes.
 * The decoders' ({@link TransformerGraph}) and the encoder classifiers' ({@link EncoderGraph}) graphs build on them.
 */
class LayerOps {
    final GraphBuilder g;

    LayerOps(GraphBuilder g) {
        this.g = g;
    }

    /** Gather: ids (B, S) from a table (V, C) -> (B, S, C). */
    String embedding(String table, String ids) {
        return g.op("Gather", List.of(table, ids));
    }

    /** x (..., in) times a weight stored (in, out), plus an optional bias (out). */
    String linear(String x, String weight, String bias) {
        String y = g.op("MatMul", List.of(x, weight));
        return bias == null ? y : g.op("Add", List.of(y, bias));
    }

    /**
     * RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * w, or Gemma's * (1 + w) when the weight is stored as
     * its {@code offsetFromOne}, or x / sqrt(mean(x^2) + eps) alone without a weight (null: Gemma 4's v_norm);
     * decomposed (no standard op before opset 23).
     */
    String rmsNorm(String x, String weight, float eps, boolean offsetFromOne) {
        String meanSquare = g.reduce("ReduceMean", g.op("Mul", List.of(x, x)), true, -1);
        String rms = g.op("Sqrt", List.of(g.op("Add", List.of(meanSquare, g.scalar(eps)))));
        String normed = g.op("Div", List.of(x, rms));
        if (weight == null) {
            return normed;
        }
        String scale = offsetFromOne ? g.op("Add", List.of(weight, g.scalar(1f))) : weight;
        return g.op("Mul", List.of(normed, scale));
    }

    /** Gemma 2's soft cap, cap * tanh(x / cap), on attention scores and logits; x itself when cap is 0. */
    String softCap(String x, float cap) {
        if (cap == 0) {
            return x;
        }
        return g.op("Mul", List.of(g.op("Tanh", List.of(g.op("Mul", List.of(x, g.scalar(1 / cap))))), g.scalar(cap)));
    }

    /** LayerNormalization (opset 17) over the last axis, without a bias where {@code bias} is null. */
    String layerNorm(String x, String weight, String bias, float eps) {
        return g.op("LayerNormalization", bias == null ? List.of(x, weight) : List.of(x, weight, bias),
                intAttr("axis", -1), floatAttr("epsilon", eps));
    }

    /** The activation {@code kind} in standard ops; the GELUs written out as their formulas. */
    String activation(Activations.Kind kind, String x) {
        return switch (kind) {
            case SILU -> g.op("Mul", List.of(x, g.op("Sigmoid", List.of(x))));
            case RELU -> g.op("Relu", List.of(x));
            case TANH -> g.op("Tanh", List.of(x));
            case SIGMOID -> g.op("Sigmoid", List.of(x));
            case SOFTPLUS -> g.op("Softplus", List.of(x));
            case RELU2 -> {
                String relu = g.op("Relu", List.of(x));
                yield g.op("Mul", List.of(relu, relu));
            }
            // 0.5 x (1 + erf(x / sqrt 2))
            case GELU_EXACT -> halfXTimesOnePlus(x, g.op("Erf", List.of(g.op("Mul", List.of(x, g.scalar((float) (1 / Math.sqrt(2))))))));
            // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
            case GELU_TANH -> {
                String cube = g.op("Mul", List.of(g.op("Mul", List.of(x, x)), x));
                String inner = g.op("Add", List.of(x, g.op("Mul", List.of(cube, g.scalar(0.044715f)))));
                yield halfXTimesOnePlus(x, g.op("Tanh", List.of(g.op("Mul", List.of(inner, g.scalar((float) Math.sqrt(2 / Math.PI)))))));
            }
        };
    }

    /**
     * Apertus's xIELU ({@link Xielu}) of {@code x} with its layer's raw scalars {@code alphaP} and {@code alphaN}
     * (initializers of shape (1)): ap = softplus(alpha_p), an = beta + softplus(alpha_n), then ap x^2 + beta x where
     * x &gt; 0, else (expm1(min(x, eps)) - x) an + beta x. ONNX has no Expm1: exp(m) - 1 loses at most float32's
     * spacing at 1 (6e-8) to it, as m is never positive.
     */
    String xielu(String x, String alphaP, String alphaN) {
        String ap = g.op("Softplus", List.of(alphaP));
        String an = g.op("Add", List.of(g.op("Softplus", List.of(alphaN)), g.scalar(Xielu.BETA)));
        String linear = g.op("Mul", List.of(x, g.scalar(Xielu.BETA)));
        String positive = g.op("Add", List.of(g.op("Mul", List.of(g.op("Mul", List.of(x, x)), ap)), linear));
        String expm1 = g.op("Sub", List.of(g.op("Exp", List.of(g.op("Min", List.of(x, g.scalar(Xielu.EPS))))),
                g.scalar(1f)));
        String negative = g.op("Add", List.of(g.op("Mul", List.of(g.op("Sub", List.of(expm1, x)), an)), linear));
        return g.op("Where", List.of(g.op("Greater", List.of(x, g.scalar(0f))), positive, negative));
    }

    private String halfXTimesOnePlus(String x, String u) {
        return g.op("Mul", List.of(g.op("Mul", List.of(x, g.scalar(0.5f))), g.op("Add", List.of(u, g.scalar(1f)))));
    }

    /** (B, S, H, D) -> (B, H, S, D). */
    String transposeHeads(String x) {
        return g.op("Transpose", List.of(x), intsAttr("perm", 0, 2, 1, 3));
    }


    /** A weight stored (out, in) viewed as (in, out) by a Transpose node (tied embeddings serve as the head). */
    String transpose(String weight) {
        return g.op("Transpose", List.of(weight), intsAttr("perm", 1, 0));
    }
}
