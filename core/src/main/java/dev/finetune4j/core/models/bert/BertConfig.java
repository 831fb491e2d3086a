package dev.finetune4j.core.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.Dropouts;

/**
 * BERT's config.json for sequence classification, field names mirrored.
 *
 * @param vocabSize number of token ids
 * @param hiddenSize hidden size C
 * @param numHiddenLayers number of encoder layers
 * @param numAttentionHeads attention heads; divide {@code hiddenSize}
 * @param intermediateSize width of the MLP
 * @param hiddenAct the MLP's activation (default GELU)
 * @param maxPositionEmbeddings rows of the learned position table (default 512)
 * @param typeVocabSize rows of the token-type table (default 2)
 * @param layerNormEps the LayerNorms' epsilon
 * @param numLabels classes of the classifier head ({@code num_labels}, else the size of {@code id2label}, else 2)
 * @param dropouts the training dropouts: {@code attention_probs_dropout_prob} on the attention probabilities,
 *                 {@code hidden_dropout_prob} on the embeddings and on each sub-layer's output (0.1 each by default)
 * @param classifierDropout the training dropout on the pooled output before the classifier
 *                          ({@code classifier_dropout}, else {@code hidden_dropout_prob})
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, Activations.Kind hiddenAct, int maxPositionEmbeddings,
                         int typeVocabSize, float layerNormEps, int numLabels, Dropouts dropouts,
                         float classifierDropout) {

    /** BERT's default for its dropouts, as transformers' {@code BertConfig}. */
    private static final double DEFAULT_DROPOUT = 0.1;

    /** Checks that {@code hiddenSize} is a multiple of {@code numAttentionHeads}. */
    public BertConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("config.json: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
    }

    /**
     * Reads a BERT config.json, with BERT's defaults for the optional fields.
     *
     * @param c the parsed config.json
     * @return the configuration
     */
    public static BertConfig fromJson(JsonNode c) {
        String at = "config.json";
        JsonNode id2label = c.path("id2label");
        int labels = JsonFields.integer(c, "num_labels", id2label.isObject() ? id2label.size() : 2, 1, ConfigLimits.SMALL_TABLE, at);
        float hidden = Dropouts.probability(c, "hidden_dropout_prob", DEFAULT_DROPOUT, at);
        return new BertConfig(JsonFields.requiredInteger(c, "vocab_size", 1, ConfigLimits.VOCAB, at),
                JsonFields.requiredInteger(c, "hidden_size", 1, ConfigLimits.HIDDEN, at),
                JsonFields.requiredInteger(c, "num_hidden_layers", 1, ConfigLimits.LAYERS, at),
                JsonFields.requiredInteger(c, "num_attention_heads", 1, ConfigLimits.HEADS, at),
                JsonFields.requiredInteger(c, "intermediate_size", 1, ConfigLimits.INTERMEDIATE, at),
                Activations.Kind.fromConfig(c.path("hidden_act").asText("gelu")),
                JsonFields.integer(c, "max_position_embeddings", 512, 1, ConfigLimits.POSITIONS, at),
                JsonFields.integer(c, "type_vocab_size", 2, 1, ConfigLimits.SMALL_TABLE, at),
                (float) JsonFields.number(c, "layer_norm_eps", 1e-12, ConfigLimits.NORM_EPS, ConfigLimits.NORM_EPS_RANGE,
                        at), labels,
                new Dropouts(Dropouts.probability(c, "attention_probs_dropout_prob", DEFAULT_DROPOUT, at), hidden,
                        hidden),
                Dropouts.probability(c, "classifier_dropout", hidden, at));
    }

    /**
     * Parameters of the embeddings and the layers' matrices: a lower bound on what the checkpoint must hold.
     *
     * @return the number of matrix and embedding parameters
     */
    public long parameterCount() {
        long h = hiddenSize;
        return ((long) vocabSize + maxPositionEmbeddings + typeVocabSize) * h
                + numHiddenLayers * (4 * h * h + 2 * h * intermediateSize);
    }
}
