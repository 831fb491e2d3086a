package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.RotaryFrequencies;

import java.io.IOException;
import java.util.List;
import java.util.Set;

import static dev.finetune4j.onnx.GraphBuilder.FLOAT;
import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * The graph of the LLaMA decoder family (LLaMA, Mistral, Qwen2 with q/k/v biases, Qwen3 with q/k norms; tied or
 * separate output head), node for node what {@link DecoderModel} computes: pre-norm layers of RMSNorm,
 * rotary self-attention with grouped key/value heads, and a gated MLP.
 */
final class DecoderGraph {
    private final DecoderConfig c;
    private final TransformerGraph t;
    private final GraphBuilder g;
    private final StateDictWeights w;
    /** (B, 1, S, D/2) each: rotary cos and sin of the positions, shared by every layer. */
    private final String cos;
    private final String sin;

    private DecoderGraph(DecoderModel model, GraphBuilder g) {
        this.c = model.config();
        this.g = g;
        this.t = new TransformerGraph(g, c.numKeyValueHeads(), c.headDim(), c.vocabSize());
        this.w = new StateDictWeights(model.stateDict(), g);
        RotaryFrequencies rotary = RotaryFrequencies.of(c.rope(), c.headDim());
        // angles = position * inv_freq in float32, as RotaryFrequencies' tables
        String positions = g.op("Unsqueeze", List.of(g.op("Cast", List.of(TransformerGraph.POSITION_IDS), intAttr("to", FLOAT)), g.ints(2)));
        String angles = g.op("Mul", List.of(positions, g.floats("rotary.inv_freq", rotary.invFreq())));     // (B, S, D/2)
        this.cos = perHead(scaled(g.op("Cos", List.of(angles)), rotary.attentionScaling()));
        this.sin = perHead(scaled(g.op("Sin", List.of(angles)), rotary.attentionScaling()));
    }

    /**
     * Whether this graph computes what a model of config {@code c} does: the LLaMA layout, with no sliding-window
     * layer (Gemma's norms, soft caps and scaled embeddings and Phi-3's fused projections are not in it).
     */
    static boolean covers(DecoderConfig c) {
        return Set.of("llama", "mistral", "qwen2", "qwen3").contains(c.modelType()) && c.slidingWindow() == 0
                && c.rotaryDim() == c.headDim();
    }

    /** Builds the whole graph into {@code g} from {@code model}'s config and weights. */
    static void build(DecoderModel model, GraphBuilder g) throws IOException {
        new DecoderGraph(model, g).build();
    }

    private void build() throws IOException {
        String table = w.asStored("model.embed_tokens.weight");
        String x = t.embedding(table, TransformerGraph.INPUT_IDS);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            String h = attention(i, p + "self_attn.", t.rmsNorm(x, w.asStored(p + "input_layernorm.weight"), c.rmsNormEps()));
            x = g.op("Add", List.of(x, h));
            h = mlp(p + "mlp.", t.rmsNorm(x, w.asStored(p + "post_attention_layernorm.weight"), c.rmsNormEps()));
            x = g.op("Add", List.of(x, h));
        }
        x = t.rmsNorm(x, w.asStored("model.norm.weight"), c.rmsNormEps());
        String head = c.tieWordEmbeddings() ? t.transpose(table) : w.transposed("lm_head.weight");
        t.logits(x, head);
        w.requireAllUsed();
    }

    /** x (B, S, C) -> (B, S, C). */
    private String attention(int layer, String p, String x) throws IOException {
        String q = heads(linear(p + "q_proj", x), c.numAttentionHeads(), p + "q_norm.weight");
        String k = heads(linear(p + "k_proj", x), c.numKeyValueHeads(), p + "k_norm.weight");
        String v = t.splitHeads(linear(p + "v_proj", x), c.numKeyValueHeads());
        List<String> present = t.cache(layer, k, v);
        return linear(p + "o_proj", t.attention(q, present.get(0), present.get(1), c.numAttentionHeads()));
    }

    /** (B, S, H*D) -> (B, H, S, D), normalised per head (Qwen3) and rotated. */
    private String heads(String proj, int heads, String normWeight) throws IOException {
        String x = g.op("Reshape", List.of(proj, g.ints(0, 0, heads, c.headDim())));
        if (c.qkNorm()) {
            x = t.rmsNorm(x, w.asStored(normWeight), c.rmsNormEps());
        }
        return rotate(t.transposeHeads(x));
    }

    /** Rotary in the rotate-half layout: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin); x (B, H, S, D). */
    private String rotate(String x) {
        long half = c.headDim() / 2;
        String x1 = g.op("Slice", List.of(x, g.ints(0), g.ints(half), g.ints(3)));
        String x2 = g.op("Slice", List.of(x, g.ints(half), g.ints(c.headDim()), g.ints(3)));
        String out1 = g.op("Sub", List.of(g.op("Mul", List.of(x1, cos)), g.op("Mul", List.of(x2, sin))));
        String out2 = g.op("Add", List.of(g.op("Mul", List.of(x2, cos)), g.op("Mul", List.of(x1, sin))));
        return g.op("Concat", List.of(out1, out2), intAttr("axis", 3));
    }

    /** down_proj(act(gate_proj(x)) * up_proj(x)). */
    private String mlp(String p, String x) throws IOException {
        String gate = t.activation(c.hiddenAct(), linear(p + "gate_proj", x));
        return linear(p + "down_proj", g.op("Mul", List.of(gate, linear(p + "up_proj", x))));
    }

    private String linear(String name, String x) throws IOException {
        return t.linear(x, w.transposed(name + ".weight"), w.optional(name + ".bias"));
    }

    private String scaled(String x, float scale) {
        return scale == 1f ? x : g.op("Mul", List.of(x, g.scalar(scale)));
    }

    /** (B, S, D/2) -> (B, 1, S, D/2), broadcast over heads. */
    private String perHead(String x) {
        return g.op("Unsqueeze", List.of(x, g.ints(1)));
    }
}
