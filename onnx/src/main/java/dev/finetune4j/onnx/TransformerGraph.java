package dev.finetune4j.onnx;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.onnx.GraphBuilder.BOOL;
import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.INT64;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;
import static dev.finetune4j.onnx.GraphBuilder.intsAttr;

/**
 * The pieces every decoder-only transformer graph shares, in standard ONNX ops (opset 17, or 21 with quantized weights), beside the layers of
 * {@link LayerOps}: the inputs and outputs in the layout of ONNX Runtime GenAI and Optimum, the causal, padding and
 * sliding-window masks, the key/value cache, and attention with grouped key/value heads and soft-capped scores.
 *
 * <p>Symbolic sizes: B {@code batch_size}, S {@code sequence_length} (new tokens), P
 * {@code past_sequence_length}, T {@code total_sequence_length} = P + S.
 */
final class TransformerGraph extends LayerOps {
    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String POSITION_IDS = "position_ids";
    static final String LOGITS = "logits";
    static final String BATCH = "batch_size";
    static final String SEQUENCE = "sequence_length";
    private static final String PAST = "past_sequence_length";
    private static final String TOTAL = "total_sequence_length";
    /** What a masked score becomes: the lowest float, as Hugging Face uses, so a fully masked row stays finite. */
    static final float MASKED = -Float.MAX_VALUE;

    private final int kvHeads;
    /** The width of a key head (and a query head), and of a value head: they differ in latent attention alone. */
    private final int headDim;
    private final int valueDim;
    /** int64 (1, T) and (S, 1): the keys' and the new tokens' indexes among the T keys. */
    private final String keyIndex;
    private final String queryIndex;
    /** bool (B, 1, 1, S, T) per sliding window (0: none): query i may attend key j. */
    private final Map<Integer, String> allowedByWindow = new HashMap<>();

    /**
     * How attention turns q k^T into the scores it masks: {@code softCap * tanh(s * scale / softCap)} (no cap when
     * 0), and a sliding window of {@code window} keys (0: none).
     *
     * @param scale  multiplier of q k^T: 1 / sqrt(D), or Gemma 2 and 3's query_pre_attn_scalar^-0.5
     * @param softCap Gemma 2's attn_logit_softcapping, 0 for none
     * @param window the keys a query sees at most, itself included; 0 for all earlier keys
     */
    record Scores(float scale, float softCap, int window) {
        /** Scores scaled by 1 / sqrt(headDim), uncapped, without a window. */
        static Scores plain(int headDim) {
            return new Scores((float) (1 / Math.sqrt(headDim)), 0f, 0);
        }
    }

    /**
     * Declares {@code input_ids}, {@code attention_mask} and {@code position_ids}, and {@code logits} (B, S, V) as
     * the first output (before the presents, as Optimum orders them), and builds the mask.
     */
    TransformerGraph(GraphBuilder g, int kvHeads, int headDim, int vocab) {
        this(g, kvHeads, headDim, headDim, vocab);
    }

    /**
     * As {@link #TransformerGraph(GraphBuilder, int, int, int)} for key heads of {@code headDim} and value heads of
     * {@code valueDim} dimensions (DeepSeek's latent attention: qk_head_dim and v_head_dim), which the cache keeps
     * at their own widths.
     */
    TransformerGraph(GraphBuilder g, int kvHeads, int headDim, int valueDim, int vocab) {
        super(g);
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.valueDim = valueDim;
        g.input(INPUT_IDS, INT64, BATCH, SEQUENCE);
        g.input(ATTENTION_MASK, INT64, BATCH, TOTAL);
        g.input(POSITION_IDS, INT64, BATCH, SEQUENCE);
        g.output(LOGITS, FLOAT, BATCH, SEQUENCE, vocab);
        // new token i sits at index P + i among the T keys; P = T - S follows from the inputs' shapes alone
        String s = g.op("Squeeze", List.of(g.op("Shape", List.of(INPUT_IDS), intAttr("start", 1), intAttr("end", 2)), g.ints(0)));
        String t = g.op("Squeeze", List.of(g.op("Shape", List.of(ATTENTION_MASK), intAttr("start", 1), intAttr("end", 2)), g.ints(0)));
        String past = g.op("Sub", List.of(t, s));
        this.keyIndex = g.op("Unsqueeze", List.of(g.op("Range", List.of(g.scalar(0L), t, g.scalar(1L))), g.ints(0)));
        this.queryIndex = g.op("Unsqueeze", List.of(g.op("Range", List.of(past, t, g.scalar(1L))), g.ints(1)));
    }

    /**
     * Key j (0 <= j < T) is visible to new token i (0 <= i < S), at index q = P + i, when j <= q,
     * attention_mask[b, j] != 0 and, with a sliding window W, j > q - W (Hugging Face's rule, in indexes among the
     * keys as finetune4j's own mask counts them). Built once per window; bool (B, 1, 1, S, T).
     */
    private String allowedKeys(int window) {
        String cached = allowedByWindow.get(window);
        if (cached != null) {
            return cached;
        }
        String allowed;
        if (window == 0) {
            String causal = g.op("LessOrEqual", List.of(keyIndex, queryIndex));                       // (S, T)
            String notPadding = g.op("Unsqueeze", List.of(g.op("Cast", List.of(ATTENTION_MASK), intAttr("to", BOOL)),
                    g.ints(1, 2, 3)));                                                                  // (B, 1, 1, 1, T)
            allowed = g.op("And", List.of(causal, notPadding));
        } else {
            String inWindow = g.op("Less", List.of(g.op("Sub", List.of(queryIndex, keyIndex)), g.scalar((long) window)));
            allowed = g.op("And", List.of(allowedKeys(0), inWindow));
        }
        allowedByWindow.put(window, allowed);
        return allowed;
    }

    /**
     * A layer's key/value heads and their widths: the model's, or a layer's own (Gemma 4's full-attention layers).
     *
     * @param count the key/value heads KV
     * @param keyDim a key head's (and a query head's) width D
     * @param valueDim a value head's width Dv
     */
    record KvHeads(int count, int keyDim, int valueDim) {
    }

    /** The model's key/value heads, which every layer has unless it says otherwise. */
    KvHeads kvHeads() {
        return new KvHeads(kvHeads, headDim, valueDim);
    }

    /** (B, S, H*D) -> (B, H, S, D). */
    String splitHeads(String x, int heads) {
        return transposeHeads(g.op("Reshape", List.of(x, g.ints(0, 0, heads, headDim))));
    }

    /**
     * Declares layer {@code layer}'s {@code past_key_values.N.key/value} inputs (B, KV, P, D) and
     * {@code present.N.key/value} outputs (B, KV, T, D), the past followed by this step's k and v (B, KV, S, D);
     * returns the present key and value. (The values' D is {@code valueDim} where it differs.)
     */
    List<String> cache(int layer, String k, String v) {
        return cache(layer, k, v, kvHeads());
    }

    /** {@link #cache(int, String, String)} of a layer whose key/value heads are {@code shape}. */
    List<String> cache(int layer, String k, String v, KvHeads shape) {
        String pastKey = "past_key_values." + layer + ".key";
        String pastValue = "past_key_values." + layer + ".value";
        g.input(pastKey, FLOAT, BATCH, shape.count(), PAST, shape.keyDim());
        g.input(pastValue, FLOAT, BATCH, shape.count(), PAST, shape.valueDim());
        String presentKey = g.opInto("present." + layer + ".key", "Concat", List.of(pastKey, k), intAttr("axis", 2));
        String presentValue = g.opInto("present." + layer + ".value", "Concat", List.of(pastValue, v), intAttr("axis", 2));
        g.output(presentKey, FLOAT, BATCH, shape.count(), TOTAL, shape.keyDim());
        g.output(presentValue, FLOAT, BATCH, shape.count(), TOTAL, shape.valueDim());
        return List.of(presentKey, presentValue);
    }

    /**
     * Scaled dot-product attention: q (B, H, S, D), k (B, KV, T, D) and v (B, KV, T, Dv) -> (B, S, H*Dv), the
     * scores scaled, soft-capped and then masked as {@code rule} says. Each key/value head serves H / KV query heads (query head h
     * uses kv head h / (H / KV), as Hugging Face's repeat_kv): the queries are viewed as (B, KV, H/KV, S, D) and
     * MatMul broadcasts k and v over the group axis, so they are never copied.
     */
    String attention(String q, String k, String v, int heads, Scores rule) {
        return attention(q, k, v, heads, rule, null);
    }

    /**
     * {@link #attention(String, String, String, int, Scores)} with each head's learned sink logit (gpt-oss's
     * {@code sinks}, (H); null for none) joining its softmax's denominator as one more key without a value: the sink
     * column is concatenated to the masked scores, the softmax taken, and the column dropped, so a head's weights over
     * the keys sum to less than 1 (to 0 for a query that sees no key).
     */
    String attention(String q, String k, String v, int heads, Scores rule, String sinks) {
        return attention(q, k, v, heads, rule, sinks, kvHeads());
    }

    /** {@link #attention(String, String, String, int, Scores, String)} over key/value heads {@code kv}. */
    String attention(String q, String k, String v, int heads, Scores rule, String sinks, KvHeads kv) {
        int group = heads / kv.count();
        String q5 = g.op("Reshape", List.of(q, g.ints(0, kv.count(), group, -1, kv.keyDim())));      // (B, KV, G, S, D)
        String k5 = g.op("Unsqueeze", List.of(k, g.ints(2)));                                          // (B, KV, 1, T, D)
        String v5 = g.op("Unsqueeze", List.of(v, g.ints(2)));
        String kT = g.op("Transpose", List.of(k5), intsAttr("perm", 0, 1, 2, 4, 3));                    // (B, KV, 1, D, T)
        String scores = softCap(g.op("Mul", List.of(g.op("MatMul", List.of(q5, kT)), g.scalar(rule.scale()))), rule.softCap());
        String masked = g.op("Where", List.of(allowedKeys(rule.window()), scores, g.scalar(MASKED)));  // (B, KV, G, S, T)
        String probs = sinks == null ? g.op("Softmax", List.of(masked), intAttr("axis", -1))
                : softmaxWithSinks(masked, sinks, kv.count(), group);
        String context = g.op("MatMul", List.of(probs, v5));                                           // (B, KV, G, S, Dv)
        String heads4 = g.op("Reshape", List.of(context, g.ints(0, heads, -1, kv.valueDim())));         // (B, H, S, Dv)
        return g.op("Reshape", List.of(transposeHeads(heads4), g.ints(0, 0, (long) heads * kv.valueDim()))); // (B, S, H*Dv)
    }

    /** scores (B, KV, G, S, T) -> (B, KV, G, S, T): query head kv G + g's sink, sinks[kv G + g], in its denominator. */
    private String softmaxWithSinks(String scores, String sinks, int kvHeads, int group) {
        String perHead = g.op("Reshape", List.of(sinks, g.ints(1, kvHeads, group, 1, 1)));
        String columnShape = g.op("Concat", List.of(g.op("Shape", List.of(scores), intAttr("end", 4)), g.ints(1)),
                intAttr("axis", 0));                                                                   // (B, KV, G, S, 1)
        String withSink = g.op("Concat", List.of(scores, g.op("Expand", List.of(perHead, columnShape))),
                intAttr("axis", -1));                                                                  // (B, KV, G, S, T + 1)
        String probs = g.op("Softmax", List.of(withSink), intAttr("axis", -1));
        return g.op("Slice", List.of(probs, g.ints(0), g.ints(-1), g.ints(-1)));
    }

    /**
     * Computes the {@code logits} output (B, S, V): hidden (B, S, C) times a head stored (C, V), plus the head's
     * {@code bias} (V) where it has one (ERNIE-4.5-MoE's {@code use_bias}; null for none), soft-capped by
     * {@code softCap} (Gemma 2's final_logit_softcapping; 0 for none).
     */
    void logits(String hidden, String head, String bias, float softCap) {
        if (softCap == 0 && bias == null) {
            g.opInto(LOGITS, "MatMul", List.of(hidden, head));
        } else {
            g.opInto(LOGITS, "Identity", List.of(softCap(linear(hidden, head, bias), softCap)));
        }
    }
}
