package dev.finetune4j.core.models.decoder;

import dev.finetune4j.core.autograd.Elementwise;
import dev.finetune4j.core.nn.Embedding;
import dev.finetune4j.core.nn.Linear;
import dev.finetune4j.core.nn.Module;
import dev.finetune4j.core.nn.RmsNorm;
import dev.finetune4j.core.tensor.DType;
import dev.finetune4j.core.tensor.DTypeConversions;
import dev.finetune4j.core.tensor.Tensor;
import dev.finetune4j.core.tensor.TensorScope;

/**
 * Gemma 4's per-layer inputs (PLE): for each layer L a vector of P = {@code hidden_size_per_layer_input} per token,
 * {@code (norm(per_layer_model_projection(e) / sqrt(C)) + embed_tokens_per_layer(id) * sqrt(P)) / sqrt(2)}, the
 * projection of the input embeddings e (C wide, already scaled) and the packed embedding table (L P wide) both cut
 * into L slices of P, the norm ({@code per_layer_projection_norm}) over each slice. Its modules sit in the backbone
 * beside {@code embed_tokens}, under these names; they are read from the backbone at each pass, so that an adapter
 * that replaces one is the one run.
 */
final class PerLayerInputs {
    static final String EMBEDDINGS = "embed_tokens_per_layer";
    static final String PROJECTION = "per_layer_model_projection";
    static final String NORM = "per_layer_projection_norm";

    private final DecoderConfig config;
    private final Module backbone;

    /**
     * Registers nothing itself: {@code backbone} holds the modules that {@link #modules} made.
     *
     * @param config the configuration, whose {@code gemma4().perLayerInputSize()} is above 0
     * @param backbone the module that holds them
     */
    PerLayerInputs(DecoderConfig config, Module backbone) {
        this.config = config;
        this.backbone = backbone;
    }

    /** The three modules, zero until loaded, in the order of {@link #EMBEDDINGS}, {@link #PROJECTION}, {@link #NORM}. */
    static Module[] modules(TensorScope scope, DecoderConfig c) {
        int width = c.numHiddenLayers() * c.gemma4().perLayerInputSize();
        return new Module[]{new Embedding(scope, c.gemma4().perLayerVocabSize(), width),
                new Linear(scope, c.hiddenSize(), width, false),
                new RmsNorm(scope, c.gemma4().perLayerInputSize(), c.normEps())};
    }

    /**
     * Each layer's input: embeds (B, T, C), ids [B][T] -> L tensors (B, T, P).
     *
     * @param embeds the input embeddings, scaled as the layers read them
     * @param ids the tokens' ids
     * @param paddingRow the embedding row that takes no gradient, or -1
     * @return one input per layer
     * @throws IllegalArgumentException without ids (input embeddings alone), or with an id beyond the table
     */
    Tensor[] forward(Tensor embeds, long[][] ids, int paddingRow) {
        int b = embeds.dim(0);
        int t = embeds.dim(1);
        int layers = config.numHiddenLayers();
        int p = config.gemma4().perLayerInputSize();
        if (ids == null || ids.length != b || b > 0 && ids[0].length != t) {
            throw new IllegalArgumentException("Gemma 4's per-layer inputs (hidden_size_per_layer_input = " + p
                    + ") are looked up by token id, but this pass has input embeddings of " + t + " positions without "
                    + "their ids (prompt tuning's virtual tokens?): pass input ids, or use an adapter that does not "
                    + "add positions (LoRA)");
        }
        Embedding table = (Embedding) backbone.child(EMBEDDINGS);
        long rows = table.weight().dim(0); // the lookup refuses ids outside it, naming them
        Tensor tokens = paddingRow >= 0 && paddingRow < rows ? table.forward(ids, paddingRow) : table.forward(ids);
        tokens = Elementwise.scale(tokens, embeddingScale(p, table.weight().dtype())).reshape(b, t, layers, p);
        Tensor projected = Elementwise.scale(backbone.layer(PROJECTION).forward(embeds),
                (float) Math.pow(config.hiddenSize(), -0.5)).reshape(b, t, layers, p);
        Tensor sum = Elementwise.add(backbone.layer(NORM).forward(projected), tokens);
        Tensor combined = Elementwise.scale(sum, (float) Math.pow(2, -0.5));
        Tensor[] perLayer = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            perLayer[l] = combined.slice(2, l, l + 1).contiguous().reshape(b, t, p);
        }
        return perLayer;
    }

    /** sqrt(P), rounded to a bf16 table's dtype as Gemma's scaled embeddings round their factor. */
    private static float embeddingScale(int p, DType dtype) {
        float scale = (float) Math.sqrt(p);
        return dtype == DType.BF16 ? DTypeConversions.roundToBf16(scale) : scale;
    }
}
