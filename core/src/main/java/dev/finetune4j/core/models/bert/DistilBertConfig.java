package dev.finetune4j.core.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.Dropouts;

import java.util.OptionalInt;

/**
 * DistilBERT's config.json, field names mirrored ({@code dim}, {@code n_layers}, {@code n_heads}, {@code hidden_dim},
 * ...), with transformers' {@code DistilBertConfig} defaults; {@link EncoderConfig}'s names map onto them as its
 * {@code attribute_map} does.
 *
 * @param vocabSize {@code vocab_size}
 * @param dim the hidden size C ({@code dim})
 * @param nLayers the encoder layers ({@code n_layers})
 * @param nHeads the attention heads ({@code n_heads}); divide {@code dim}
 * @param hiddenDim the MLP's width ({@code hidden_dim})
 * @param activation the MLP's activation ({@code activation}, GELU by default)
 * @param maxPositionEmbeddings rows of the position table (default 512)
 * @param sinusoidalPosEmbds whether the position table was made of sines and cosines ({@code sinusoidal_pos_embds}):
 *                           transformers 5 saves that table with the weights and reads it back as any other, so the
 *                           table is loaded either way
 * @param numLabels classes of the classifier head ({@code num_labels}, else the size of {@code id2label}, else 2)
 * @param dropout the training dropout on the embeddings and on the MLP's output ({@code dropout}, 0.1 by default;
 *                DistilBERT has none on the attention's output)
 * @param attentionDropout the training dropout on the attention probabilities ({@code attention_dropout}, 0.1)
 * @param seqClassifDropout the training dropout between {@code pre_classifier} and {@code classifier}
 *                          ({@code seq_classif_dropout}, 0.2)
 * @param padTokenId {@code pad_token_id} (default 0): the word-table row that takes no gradient; empty when null
 */
public record DistilBertConfig(int vocabSize, int dim, int nLayers, int nHeads, int hiddenDim,
                               Activations.Kind activation, int maxPositionEmbeddings, boolean sinusoidalPosEmbds,
                               int numLabels, float dropout, float attentionDropout, float seqClassifDropout,
                               OptionalInt padTokenId) implements EncoderConfig {

    /** DistilBERT's LayerNorms' epsilon: fixed in transformers' modules, not a config field. */
    static final float LAYER_NORM_EPS = 1e-12f;

    /** Checks that {@code dim} is a multiple of {@code nHeads}. */
    public DistilBertConfig {
        if (dim % nHeads != 0) {
            throw new IllegalArgumentException("config.json: dim " + dim + " is not a multiple of n_heads " + nHeads);
        }
    }

    /**
     * Reads a DistilBERT config.json, with transformers' defaults for the optional fields.
     *
     * @param c the parsed config.json
     * @return the configuration
     */
    public static DistilBertConfig fromJson(JsonNode c) {
        String at = "config.json";
        JsonNode id2label = c.path("id2label");
        int vocab = JsonFields.integer(c, "vocab_size", 30522, 1, ConfigLimits.VOCAB, at);
        JsonNode pad = c.get("pad_token_id");
        OptionalInt padId = pad != null && pad.isNull() ? OptionalInt.empty()
                : OptionalInt.of(JsonFields.integer(c, "pad_token_id", 0, 0, vocab - 1, at));
        return new DistilBertConfig(vocab,
                JsonFields.integer(c, "dim", 768, 1, ConfigLimits.HIDDEN, at),
                JsonFields.integer(c, "n_layers", 6, 1, ConfigLimits.LAYERS, at),
                JsonFields.integer(c, "n_heads", 12, 1, ConfigLimits.HEADS, at),
                JsonFields.integer(c, "hidden_dim", 4 * 768, 1, ConfigLimits.INTERMEDIATE, at),
                Activations.Kind.fromConfig(c.path("activation").asText("gelu")),
                JsonFields.integer(c, "max_position_embeddings", 512, 1, ConfigLimits.POSITIONS, at),
                JsonFields.bool(c, "sinusoidal_pos_embds", false, at),
                JsonFields.integer(c, "num_labels", id2label.isObject() ? id2label.size() : 2, 1, ConfigLimits.SMALL_TABLE, at),
                Dropouts.probability(c, "dropout", 0.1, at),
                Dropouts.probability(c, "attention_dropout", 0.1, at),
                Dropouts.probability(c, "seq_classif_dropout", 0.2, at), padId);
    }

    @Override
    public String modelType() {
        return "distilbert";
    }

    @Override
    public int hiddenSize() {
        return dim;
    }

    @Override
    public int numHiddenLayers() {
        return nLayers;
    }

    @Override
    public int numAttentionHeads() {
        return nHeads;
    }

    @Override
    public int intermediateSize() {
        return hiddenDim;
    }

    @Override
    public Activations.Kind hiddenAct() {
        return activation;
    }

    /** DistilBERT has no token-type table. */
    @Override
    public int typeVocabSize() {
        return 0;
    }

    @Override
    public float layerNormEps() {
        return LAYER_NORM_EPS;
    }

    /** {@code attention_dropout} on the probabilities, {@code dropout} on the embeddings and the MLP's output. */
    @Override
    public Dropouts dropouts() {
        return new Dropouts(attentionDropout, dropout, dropout);
    }

    @Override
    public float classifierDropout() {
        return seqClassifDropout;
    }
}
