package dev.finetune4j.onnx;

import dev.finetune4j.core.autograd.Activations;

import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.BOOL;
import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.INT64;
import static dev.finetune4j.onnx.GraphBuilder.floatAttr;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;

/**
 * The pieces every decoder-only transformer graph shares, in standard ONNX ops (opset 17): the inputs and outputs
 * in the layout of ONNX Runtime GenAI and Optimum, the causal and padding mask, the key/value cache, attention
 * with grouped key/value heads, norms, activations and linear layers.
 *
 * <p>Symbolic sizes: B {@code batch_size}, S {@code sequence_length} (new tokens), P
 * {@code past_sequence_length}, T {@code total_sequence_length} = P + S.
 */
final class TransformerGraph {
    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String POSITION_IDS = "position_ids";
    static final String LOGITS = "logits";
    private static final String BATCH = "batch_size";
    private static final String SEQUENCE = "sequence_length";
    private static final String PAST = "past_sequence_length";
    private static final String TOTAL = "total_sequence_length";
    /** What a masked score becomes: the lowest float, as Hugging Face uses, so a fully masked row stays finite. */
    private static final float MASKED = -Float.MAX_VALUE;

    final GraphBuilder g;
    private final int kvHeads;
    private final int headDim;
    /** bool (B, 1, 1, S, T): query i may attend key j (causal, and j is not padding). */
    private final String allowed;

    /**
     * Declares {@code input_ids}, {@code attention_mask} and {@code position_ids}, and {@code logits} (B, S, V) as
     * the first output (before the presents, as Optimum orders them), and builds the mask.
     */
    TransformerGraph(GraphBuilder g, int kvHeads, int headDim, int vocab) {
        this.g = g;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        g.input(INPUT_IDS, INT64, BATCH, SEQUENCE);
        g.input(ATTENTION_MASK, INT64, BATCH, TOTAL);
        g.input(POSITION_IDS, INT64, BATCH, SEQUENCE);
        g.output(LOGITS, FLOAT, BATCH, SEQUENCE, vocab);
        this.allowed = allowedKeys();
    }

    /**
     * Key j (0 <= j < T) is visible to new token i (0 <= i < S) when j <= P + i and attention_mask[b, j] != 0;
     * P = T - S, so the mask follows from the shapes of the inputs alone.
     */
    private String allowedKeys() {
        String s = g.op("Shape", List.of(INPUT_IDS), intAttr("start", 1), intAttr("end", 2));
        String t = g.op("Shape", List.of(ATTENTION_MASK), intAttr("start", 1), intAttr("end", 2));
        String sScalar = g.op("Squeeze", List.of(s, g.ints(0)));
        String tScalar = g.op("Squeeze", List.of(t, g.ints(0)));
        String past = g.op("Sub", List.of(tScalar, sScalar));
        String keys = g.op("Range", List.of(g.scalar(0L), tScalar, g.scalar(1L)));          // (T)
        String queries = g.op("Range", List.of(past, tScalar, g.scalar(1L)));              // (S), absolute
        String causal = g.op("LessOrEqual", List.of(
                g.op("Unsqueeze", List.of(keys, g.ints(0))),                                   // (1, T)
                g.op("Unsqueeze", List.of(queries, g.ints(1)))));                              // (S, 1) -> (S, T)
        String notPadding = g.op("Unsqueeze", List.of(g.op("Cast", List.of(ATTENTION_MASK), intAttr("to", BOOL)),
                g.ints(1, 2, 3)));                                                             // (B, 1, 1, 1, T)
        return g.op("And", List.of(causal, notPadding));                                       // (B, 1, 1, S, T)
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

    /** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * w, decomposed (no standard op before opset 23). */
    String rmsNorm(String x, String weight, float eps) {
        String meanSquare = g.op("ReduceMean", List.of(g.op("Mul", List.of(x, x))), intsAttr("axes", -1), intAttr("keepdims", 1));
        String rms = g.op("Sqrt", List.of(g.op("Add", List.of(meanSquare, g.scalar(eps)))));
        return g.op("Mul", List.of(g.op("Div", List.of(x, rms)), weight));
    }

    /** LayerNormalization (opset 17) over the last axis. */
    String layerNorm(String x, String weight, String bias, float eps) {
        return g.op("LayerNormalization", List.of(x, weight, bias), intAttr("axis", -1), floatAttr("epsilon", eps));
    }

    /** The activation {@code kind} in standard ops; the GELUs written out as their formulas. */
    String activation(Activations.Kind kind, String x) {
        return switch (kind) {
            case SILU -> g.op("Mul", List.of(x, g.op("Sigmoid", List.of(x))));
            case RELU -> g.op("Relu", List.of(x));
            case TANH -> g.op("Tanh", List.of(x));
            case SIGMOID -> g.op("Sigmoid", List.of(x));
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

    private String halfXTimesOnePlus(String x, String u) {
        return g.op("Mul", List.of(g.op("Mul", List.of(x, g.scalar(0.5f))), g.op("Add", List.of(u, g.scalar(1f)))));
    }

    /** (B, S, H*D) -> (B, H, S, D). */
    String splitHeads(String x, int heads) {
        return transposeHeads(g.op("Reshape", List.of(x, g.ints(0, 0, heads, headDim))));
    }

    /** (B, S, H, D) -> (B, H, S, D). */
    String transposeHeads(String x) {
        return g.op("Transpose", List.of(x), intsAttr("perm", 0, 2, 1, 3));
    }

    /**
     * Declares layer {@code layer}'s {@code past_key_values.N.key/value} inputs (B, KV, P, D) and
     * {@code present.N.key/value} outputs (B, KV, T, D), the past followed by this step's k and v (B, KV, S, D);
     * returns the present key and value.
     */
    List<String> cache(int layer, String k, String v) {
        String pastKey = "past_key_values." + layer + ".key";
        String pastValue = "past_key_values." + layer + ".value";
        g.input(pastKey, FLOAT, BATCH, kvHeads, PAST, headDim);
        g.input(pastValue, FLOAT, BATCH, kvHeads, PAST, headDim);
        String presentKey = g.opInto("present." + layer + ".key", "Concat", List.of(pastKey, k), intAttr("axis", 2));
        String presentValue = g.opInto("present." + layer + ".value", "Concat", List.of(pastValue, v), intAttr("axis", 2));
        g.output(presentKey, FLOAT, BATCH, kvHeads, TOTAL, headDim);
        g.output(presentValue, FLOAT, BATCH, kvHeads, TOTAL, headDim);
        return List.of(presentKey, presentValue);
    }

    /**
     * Scaled dot-product attention: q (B, H, S, D), k and v (B, KV, T, D) -> (B, S, H*D). Each key/value head
     * serves H / KV query heads (query head h uses kv head h / (H / KV), as Hugging Face's repeat_kv): the queries
     * are viewed as (B, KV, H/KV, S, D) and MatMul broadcasts k and v over the group axis, so they are never copied.
     */
    String attention(String q, String k, String v, int heads) {
        int group = heads / kvHeads;
        String q5 = g.op("Reshape", List.of(q, g.ints(0, kvHeads, group, -1, headDim)));             // (B, KV, G, S, D)
        String k5 = g.op("Unsqueeze", List.of(k, g.ints(2)));                                          // (B, KV, 1, T, D)
        String v5 = g.op("Unsqueeze", List.of(v, g.ints(2)));
        String kT = g.op("Transpose", List.of(k5), intsAttr("perm", 0, 1, 2, 4, 3));                    // (B, KV, 1, D, T)
        String scores = g.op("Mul", List.of(g.op("MatMul", List.of(q5, kT)), g.scalar((float) (1 / Math.sqrt(headDim)))));
        String masked = g.op("Where", List.of(allowed, scores, g.scalar(MASKED)));                      // (B, KV, G, S, T)
        String probs = g.op("Softmax", List.of(masked), intAttr("axis", -1));
        String context = g.op("MatMul", List.of(probs, v5));                                           // (B, KV, G, S, D)
        String heads4 = g.op("Reshape", List.of(context, g.ints(0, heads, -1, headDim)));               // (B, H, S, D)
        return g.op("Reshape", List.of(transposeHeads(heads4), g.ints(0, 0, (long) heads * headDim)));  // (B, S, H*D)
    }

    /** Computes the {@code logits} output (B, S, V): hidden (B, S, C) times a head stored (C, V). */
    void logits(String hidden, String head) {
        g.opInto(LOGITS, "MatMul", List.of(hidden, head));
    }

    /** A weight stored (out, in) viewed as (in, out) by a Transpose node (tied embeddings serve as the head). */
    String transpose(String weight) {
        return g.op("Transpose", List.of(weight), intsAttr("perm", 1, 0));
    }
}
