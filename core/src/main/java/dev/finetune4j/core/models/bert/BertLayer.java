package dev.finetune4j.core.models.bert;

import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.autograd.Attention;
import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Container;
import dev.finetune4j.core.nn.ForwardContext;
import dev.finetune4j.core.nn.LayerNorm;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * One post-norm BERT encoder layer with Hugging Face's tree: {@code attention.self.{query,key,value}},
 * {@code attention.output.{dense,LayerNorm}}, {@code intermediate.dense}, {@code output.{dense,LayerNorm}}.
 */
final class BertLayer extends Module {
    private final BertConfig config;

    BertLayer(TensorScope scope, BertConfig c) {
        this.config = c;
        int h = c.hiddenSize();
        Container attention = registerChild("attention", new Container());
        Container self = attention.add("self", new Container());
        self.add("query", new Linear(scope, h, h, true));
        self.add("key", new Linear(scope, h, h, true));
        self.add("value", new Linear(scope, h, h, true));
        Container attnOut = attention.add("output", new Container());
        attnOut.add("dense", new Linear(scope, h, h, true));
        attnOut.add("LayerNorm", new LayerNorm(scope, h, c.layerNormEps()));
        registerChild("intermediate", new Container()).add("dense", new Linear(scope, h, c.intermediateSize(), true));
        Container out = registerChild("output", new Container());
        out.add("dense", new Linear(scope, c.intermediateSize(), h, true));
        out.add("LayerNorm", new LayerNorm(scope, h, c.layerNormEps()));
    }

    /** x: (B, T, C) -> (B, T, C); in training the probabilities and both sub-layers' outputs dropped out. */
    Tensor forward(Tensor x, ForwardContext pass) {
        int b = x.dim(0);
        int t = x.dim(1);
        int heads = config.numAttentionHeads();
        int d = config.hiddenSize() / heads;
        Container self = (Container) child("attention").child("self");
        Tensor q = split(self.layer("query").forward(x), b, t, heads, d);
        Tensor k = split(self.layer("key").forward(x), b, t, heads, d);
        Tensor v = split(self.layer("value").forward(x), b, t, heads, d);
        Tensor ctx = Attention.scaledDotProduct(q, k, v, pass.mask(), (float) (1 / Math.sqrt(d)), 0f, null,
                        pass.attentionDropout(config.dropouts().attention()))
                .permute(0, 2, 1, 3).reshape(b, t, config.hiddenSize());
        Container attnOut = (Container) child("attention").child("output");
        float hidden = config.dropouts().residual();
        Tensor h = attnOut.layer("LayerNorm").forward(Elementwise.add(pass.dropout(attnOut.layer("dense").forward(ctx),
                hidden), x));
        Tensor inter = Activations.apply(config.hiddenAct(), ((Container) child("intermediate")).layer("dense").forward(h));
        Container out = (Container) child("output");
        return out.layer("LayerNorm").forward(Elementwise.add(pass.dropout(out.layer("dense").forward(inter), hidden),
                h));
    }

    private static Tensor split(Tensor x, int b, int t, int heads, int d) {
        return x.reshape(b, t, heads, d).permute(0, 2, 1, 3).contiguous();
    }
}
