package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * One post-norm encoder layer of BERT's family under its family's Hugging Face names ({@link EncoderFamily.LayerNames}):
 * BERT's and RoBERTa's {@code attention.self.{query,key,value}}, {@code attention.output.{dense,LayerNorm}},
 * {@code intermediate.dense}, {@code output.{dense,LayerNorm}}; DistilBERT's {@code attention.{q,k,v,out}_lin},
 * {@code sa_layer_norm}, {@code ffn.lin1/lin2}, {@code output_layer_norm}.
 */
final class BertLayer extends Module {
    private final EncoderConfig config;
    private final EncoderFamily family;

    BertLayer(TensorScope scope, EncoderConfig c, EncoderFamily family) {
        this.config = c;
        this.family = family;
        int h = c.hiddenSize();
        EncoderFamily.LayerNames n = family.layerNames();
        put(n.query(), new Linear(scope, h, h, true));
        put(n.key(), new Linear(scope, h, h, true));
        put(n.value(), new Linear(scope, h, h, true));
        put(n.attentionOutput(), new Linear(scope, h, h, true));
        put(n.attentionNorm(), new LayerNorm(scope, h, c.layerNormEps()));
        put(n.intermediate(), new Linear(scope, h, c.intermediateSize(), true));
        put(n.output(), new Linear(scope, c.intermediateSize(), h, true));
        put(n.outputNorm(), new LayerNorm(scope, h, c.layerNormEps()));
    }

    /**
     * x: (B, T, C) -> (B, T, C); in training the probabilities, the MLP's output and (but for DistilBERT) the
     * attention's output dropped out.
     */
    Tensor forward(Tensor x, ForwardContext pass) {
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numAttentionHeads();
        int d = config.hiddenSize() / heads;
        EncoderFamily.LayerNames n = family.layerNames();
        Tensor q = split(at(n.query(), x), b, t, heads, d);
        Tensor k = split(at(n.key(), x), b, t, heads, d);
        Tensor v = split(at(n.value(), x), b, t, heads, d);
        Tensor ctx = Attention.scaledDotProduct(q, k, v, pass.mask(), (float) (1 / Math.sqrt(d)), 0f, null,
                        pass.attentionDropout(config.dropouts().attention()))
                .permute(0, 2, 1, 3).reshape(b, t, config.hiddenSize());
        float hidden = config.dropouts().residual();
        Tensor attended = at(n.attentionOutput(), ctx);
        if (family.attentionOutputDropout()) {
            attended = pass.dropout(attended, hidden);
        }
        Tensor h = at(n.attentionNorm(), Elementwise.add(attended, x));
        Tensor inter = Activations.apply(config.hiddenAct(), at(n.intermediate(), h));
        return at(n.outputNorm(), Elementwise.add(pass.dropout(at(n.output(), inter), hidden), h));
    }

    private void put(String path, Module m) {
        ModulePaths.put(this, this::registerChild, path, m);
    }

    private Tensor at(String path, Tensor x) {
        return ModulePaths.layer(this, path).forward(x);
    }

    private static Tensor split(Tensor x, int b, int t, int heads, int d) {
        return x.reshape(b, t, heads, d).permute(0, 2, 1, 3).contiguous();
    }
}
