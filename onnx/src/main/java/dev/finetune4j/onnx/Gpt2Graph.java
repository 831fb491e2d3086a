package dev.finetune4j.onnx;

import dev.finetune4j.core.models.gpt2.Gpt2Config;
import dev.finetune4j.core.models.gpt2.Gpt2Model;

import java.io.IOException;
import java.util.List;

import static dev.finetune4j.onnx.GraphBuilder.intAttr;

/**
 * The graph of GPT-2, node for node what {@link Gpt2Model} computes: token plus learned position embeddings,
 * pre-norm LayerNorm blocks with one fused q/k/v projection, and the head tied to the token embeddings. GPT-2
 * stores its Conv1D weights (in, out), so they go to the file as they are.
 */
final class Gpt2Graph {
    private Gpt2Graph() {
    }

    /** Builds the whole graph into {@code g} from {@code model}'s config and weights. */
    static void build(Gpt2Model model, GraphBuilder g) throws IOException {
        Gpt2Config c = model.config();
        int headDim = c.nEmbd() / c.nHead();
        TransformerGraph t = new TransformerGraph(g, c.nHead(), headDim, c.vocabSize());
        StateDictWeights w = new StateDictWeights(model.stateDict(), g);
        String wte = w.asStored("transformer.wte.weight");
        String x = g.op("Add", List.of(t.embedding(wte, TransformerGraph.INPUT_IDS),
                t.embedding(w.asStored("transformer.wpe.weight"), TransformerGraph.POSITION_IDS)));
        for (int i = 0; i < c.nLayer(); i++) {
            String p = "transformer.h." + i + ".";
            String h = t.layerNorm(x, w.asStored(p + "ln_1.weight"), w.asStored(p + "ln_1.bias"), c.layerNormEpsilon());
            String qkv = conv1d(t, w, p + "attn.c_attn", h);
            List<String> parts = g.ops(3, "Split", List.of(qkv, g.ints(c.nEmbd(), c.nEmbd(), c.nEmbd())), intAttr("axis", 2));
            List<String> present = t.cache(i, t.splitHeads(parts.get(1), c.nHead()), t.splitHeads(parts.get(2), c.nHead()));
            String attn = t.attention(t.splitHeads(parts.get(0), c.nHead()), present.get(0), present.get(1), c.nHead(),
                    TransformerGraph.Scores.plain(headDim));
            x = g.op("Add", List.of(x, conv1d(t, w, p + "attn.c_proj", attn)));
            h = t.layerNorm(x, w.asStored(p + "ln_2.weight"), w.asStored(p + "ln_2.bias"), c.layerNormEpsilon());
            h = conv1d(t, w, p + "mlp.c_proj", t.activation(c.activationFunction(), conv1d(t, w, p + "mlp.c_fc", h)));
            x = g.op("Add", List.of(x, h));
        }
        x = t.layerNorm(x, w.asStored("transformer.ln_f.weight"), w.asStored("transformer.ln_f.bias"), c.layerNormEpsilon());
        t.logits(x, t.transpose(wte), null, 0f);
        w.requireAllUsed();
    }

    /** A Conv1D layer: x (..., in) times its weight (in, out) plus its bias. */
    private static String conv1d(TransformerGraph t, StateDictWeights w, String name, String x) throws IOException {
        return t.linear(x, w.linearStoredInOut(name + ".weight"), w.asStored(name + ".bias"));
    }
}
