package dev.finetune4j.onnx;

import dev.finetune4j.core.models.decoder.DecoderConfig;
import dev.finetune4j.core.models.decoder.DecoderModel;
import dev.finetune4j.core.models.decoder.FusedExperts;
import dev.finetune4j.core.models.decoder.Gemma4Config;
import dev.finetune4j.core.models.decoder.LayerShapes;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * What Gemma 4's language model ({@code gemma4_text}, {@link Gemma4Config}) adds to Gemma 3's layers in the graph,
 * node for node what core's {@code DecoderAttention}, {@code DecoderLayer} and {@code PerLayerInputs} compute:
 * <ul>
 *   <li>attention with each layer's own heads ({@link LayerShapes}): the sliding layers' {@code num_key_value_heads}
 *       of {@code head_dim}, the full layers' {@code num_global_key_value_heads} of {@code global_head_dim}, cached at
 *       those widths; q and k normalised per head by their weights, the values by no weight ({@code v_norm}); a full
 *       layer with {@code attention_k_eq_v} takes its values from {@code k_proj}'s output, before the key norm and the
 *       rotary; scores unscaled ({@link DecoderConfig#attentionScale} 1);</li>
 *   <li>the last {@code num_kv_shared_layers} layers project no keys and values: they attend over the present keys and
 *       values of the last earlier layer of their type (the same graph values), and declare no past or present of
 *       their own;</li>
 *   <li>per-layer inputs: for layer l, {@code (norm(per_layer_model_projection(e) / sqrt(C))_l +
 *       embed_tokens_per_layer(ids)_l * sqrt(P)) / sqrt(2)}, e the scaled input embeddings, the norm
 *       ({@code per_layer_projection_norm}) over each layer's slice of P; each layer then adds
 *       {@code post_per_layer_input_norm(per_layer_projection(act(per_layer_input_gate(h)) * input_l))} to its output
 *       h;</li>
 *   <li>each layer's output times its stored {@code layer_scalar};</li>
 *   <li>with {@code enable_moe_block}, a mixture of experts beside each layer's MLP ({@link #besideMlp}).</li>
 * </ul>
 * The full layers' rotary ("proportional": a fraction of the pairs turning, the others at frequency 0) turns whole
 * heads of {@code global_head_dim}, as {@link DecoderModel} builds it.
 *
 * <p>Shapes: B batch, S new tokens, N = B S tokens, C hidden, L layers, P {@code hidden_size_per_layer_input}, H query
 * heads, E experts, I an expert's width.
 */
final class Gemma4Graph {
    private final DecoderConfig c;
    private final DecoderModel model;
    private final LayerShapes shapes;
    private final GraphBuilder g;
    private final TransformerGraph t;
    private final StateDictWeights w;
    private final LatentAttentionGraph.Linear linear;
    /** The full layers' rotary over whole heads of global_head_dim, and the sliding layers'. */
    private final RotaryGraph fullRotary;
    private final RotaryGraph slidingRotary;
    /** The present key and value of each layer that projects its own; a kv-shared layer reads its source's. */
    private final Map<Integer, List<String>> presents = new HashMap<>();
    /** Each layer's per-layer input (B, S, P); empty in a model without them. */
    private final List<String> perLayerInputs = new ArrayList<>();

    /**
     * @param linear the checkpoint's linear layers by module name
     * @param fullRotary the rotary of the full-attention layers, over heads of global_head_dim
     * @param slidingRotary the rotary of the sliding-window layers
     */
    Gemma4Graph(DecoderModel model, GraphBuilder g, TransformerGraph t, StateDictWeights w,
                LatentAttentionGraph.Linear linear, RotaryGraph fullRotary, RotaryGraph slidingRotary) {
        this.model = model;
        this.c = model.config();
        this.shapes = c.layerShapes();
        this.g = g;
        this.t = t;
        this.w = w;
        this.linear = linear;
        this.fullRotary = fullRotary;
        this.slidingRotary = slidingRotary;
    }

    /**
     * Builds every layer's per-layer input from the input embeddings {@code embeds} (B, S, C), scaled as the layers
     * read them, and {@code input_ids}; nothing where {@code hidden_size_per_layer_input} is 0.
     */
    void perLayerInputs(String embeds) throws IOException {
        int p = c.gemma4().perLayerInputSize();
        if (p == 0) {
            return;
        }
        int layers = c.numHiddenLayers();
        String tableName = "model.embed_tokens_per_layer.weight";
        float tableScale = (float) Math.sqrt(p);
        if (model.stateDict().get(tableName).dtype() == DType.BF16) { // rounded as core and transformers round it
            tableScale = DTypeConversions.roundToBf16(tableScale);
        }
        String tokens = g.op("Mul", List.of(t.embedding(w.asStored(tableName), TransformerGraph.INPUT_IDS),
                g.scalar(tableScale)));                                                                // (B, S, L P)
        String projected = g.op("Mul", List.of(linear.apply("model.per_layer_model_projection", embeds),
                g.scalar((float) Math.pow(c.hiddenSize(), -0.5))));
        String normed = t.rmsNorm(g.op("Reshape", List.of(projected, g.ints(0, 0, layers, p))),
                w.asStored("model.per_layer_projection_norm.weight"), c.normEps(), false);               // (B, S, L, P)
        String sum = g.op("Add", List.of(normed, g.op("Reshape", List.of(tokens, g.ints(0, 0, layers, p)))));
        String combined = g.op("Mul", List.of(sum, g.scalar((float) Math.pow(2, -0.5))));
        for (int l = 0; l < layers; l++) {
            perLayerInputs.add(g.op("Gather", List.of(combined, g.scalar((long) l)), intAttr("axis", 2)));
        }
    }

    /** Layer {@code layer}'s self-attention, its module prefix {@code p}: x (B, S, C) -> (B, S, C). */
    String attention(int layer, String p, String x) throws IOException {
        int headDim = shapes.headDim(layer);
        TransformerGraph.KvHeads kv = new TransformerGraph.KvHeads(shapes.keyValueHeads(layer), headDim, headDim);
        int window = c.slidingWindowOf(layer);
        RotaryGraph rope = !c.ropeLayers()[layer] ? null : window > 0 ? slidingRotary : fullRotary;
        DecoderConfig.AttentionNames names = c.attentionNames();
        String q = heads(linear.apply(p + "q_proj", x), c.numAttentionHeads(), headDim, p + names.queryNorm(), rope);
        int source = shapes.keyValueSource(layer);
        List<String> present;
        if (source == layer) {
            String keys = linear.apply(p + "k_proj", x);
            String k = heads(keys, kv.count(), headDim, p + names.keyNorm(), rope);
            String values = shapes.hasValueProjection(layer) ? linear.apply(p + "v_proj", x) : keys;
            String v = t.transposeHeads(t.rmsNorm(g.op("Reshape", List.of(values, g.ints(0, 0, kv.count(), headDim))),
                    null, c.normEps(), false));
            present = t.cache(layer, k, v, kv);
            presents.put(layer, present);
        } else {
            present = presents.get(source); // built first: the source comes before the kv-shared layers
        }
        TransformerGraph.Scores scores = new TransformerGraph.Scores(c.attentionScale(), c.attnLogitSoftcapping(), window);
        String context = t.attention(q, present.get(0), present.get(1), c.numAttentionHeads(), scores, null, kv);
        return linear.apply(p + names.output(), context);
    }

    /**
     * (B, S, H*D) -> (B, H, S, D): each head normalised by the norm {@code norm}'s weight, then rotated (unless
     * {@code rope} is null).
     */
    private String heads(String proj, int heads, int headDim, String norm, RotaryGraph rope) throws IOException {
        String x = g.op("Reshape", List.of(proj, g.ints(0, 0, heads, headDim)));
        String normed = t.rmsNorm(x, w.asStored(norm + ".weight"), c.normEps(), c.gemmaNorms());
        String transposed = t.transposeHeads(normed);
        return rope == null ? transposed : rope.rotate(transposed);
    }

    /**
     * Layer {@code layer}'s output h (B, S, C) after its attention and MLP, its module prefix {@code p}: plus its
     * per-layer input's branch where the model has per-layer inputs, all times {@code layer_scalar}.
     */
    String layerOutput(int layer, String p, String h) throws IOException {
        String out = h;
        if (!perLayerInputs.isEmpty()) {
            String gate = t.activation(c.hiddenAct(), linear.apply(p + "per_layer_input_gate", out));
            String projected = linear.apply(p + "per_layer_projection", g.op("Mul",
                    List.of(gate, perLayerInputs.get(layer))));
            out = g.op("Add", List.of(out, norm(projected, p + "post_per_layer_input_norm")));
        }
        return g.op("Mul", List.of(out, w.asStored(p + "layer_scalar")));
    }

    /**
     * A layer's feed-forward with {@code enable_moe_block}, its module prefix {@code p}:
     * {@code post_feedforward_layernorm_1(dense) + post_feedforward_layernorm_2(experts(pre_feedforward_layernorm_2(h)))},
     * the experts chosen and weighed ({@link ExpertsGraph}) by the router's reading of the stream h itself: logits
     * {@code router.proj(rms(h) * router.scale * C^-0.5)}, a softmax, each token's top k renormalised, then each chosen
     * expert's weight times its {@code router.per_expert_scale}. The stacked {@code experts.gate_up_proj} (E, 2I, C:
     * the gate rows, then the up rows) and {@code experts.down_proj} (E, C, I) are cut per expert, named
     * {@code experts.N.gate_up_proj.weight} and {@code experts.N.down_proj.weight}, which {@code expert} reads.
     * h, dense (B, S, C) -> (B, S, C).
     *
     * @param dense the layer's MLP of its normed stream
     * @param expert expert e's MLP over its tokens
     */
    String besideMlp(String p, String h, String dense, ExpertsGraph.Expert expert) throws IOException {
        for (String stacked : List.of(FusedExperts.GATE_UP, FusedExperts.DOWN)) {
            w.unstack(p + "experts." + stacked, e -> p + "experts." + e + "." + stacked + ".weight");
        }
        int hidden = c.hiddenSize();
        String stream = g.op("Reshape", List.of(h, g.ints(-1, hidden)));                                // (N, C)
        String routerInput = g.op("Mul", List.of(t.rmsNorm(stream, w.asStored(p + "router.scale"), c.normEps(), false),
                g.scalar((float) Math.pow(hidden, -0.5))));
        String logits = g.op("MatMul", List.of(routerInput, w.transposed(p + "router.proj.weight")));   // (N, E)
        String tokens = g.op("Reshape", List.of(norm(h, p + "pre_feedforward_layernorm_2"), g.ints(-1, hidden)));
        String mixed = new ExpertsGraph(g, c.moe(), hidden).mixByLogits(tokens, logits, null,
                w.asStored(p + "router.per_expert_scale"), expert);
        String experts = g.op("Reshape", List.of(mixed, g.op("Shape", List.of(h))));
        return g.op("Add", List.of(norm(dense, p + "post_feedforward_layernorm_1"),
                norm(experts, p + "post_feedforward_layernorm_2")));
    }

    /** x through the hidden-size RMSNorm {@code name}. */
    private String norm(String x, String name) throws IOException {
        return t.rmsNorm(x, w.asStored(name + ".weight"), c.normEps(), c.gemmaNorms());
    }
}
