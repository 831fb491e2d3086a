package dev.finetune4j.core.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.Dropouts;

import java.util.List;
import java.util.OptionalInt;

/**
 * BERT's config.json for sequence classification, field names mirrored; RoBERTa's and XLM-RoBERTa's are the same
 * fields (transformers' {@code RobertaConfig} and {@code XLMRobertaConfig} copy BERT's) with another
 * {@code pad_token_id} default.
 *
 * @param modelType {@code bert}, {@code roberta} or {@code xlm-roberta}
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
 * @param classifierDropout the training dropout of the head ({@code classifier_dropout}, else
 *                          {@code hidden_dropout_prob}): BERT's before its classifier, RoBERTa's before each of its
 *                          head's two projections
 * @param padTokenId {@code pad_token_id} (BERT's default 0, RoBERTa's 1): the word-table row that takes no gradient,
 *                   and where RoBERTa's position ids start; empty when config.json sets it to null (BERT only)
 */
public record BertConfig(String modelType, int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, Activations.Kind hiddenAct, int maxPositionEmbeddings,
                         int typeVocabSize, float layerNormEps, int numLabels, Dropouts dropouts,
                         float classifierDropout, OptionalInt padTokenId) implements EncoderConfig {

    /** The model types whose config.json has BERT's fields. */
    private static final List<String> TYPES = List.of("bert", "roberta", "xlm-roberta");
    /** BERT's default for its dropouts, as transformers' {@code BertConfig}. */
    private static final double DEFAULT_DROPOUT = 0.1;

    /**
     * Checks the model type, that {@code hiddenSize} is a multiple of {@code numAttentionHeads}, and that RoBERTa's
     * pad id leaves room for a position after it.
     */
    public BertConfig {
        if (!TYPES.contains(modelType)) {
            throw new IllegalArgumentException("config.json: model_type '" + modelType + "' is not one of " + TYPES);
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("config.json: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
        // NOTE: the compact constructor sees the parameters; the fields (and methods reading them) are not set yet
        if (!modelType.equals("bert") && (padTokenId.isEmpty() || padTokenId.getAsInt() + 1 >= maxPositionEmbeddings)) {
            throw new IllegalArgumentException("config.json: " + modelType + "'s position ids start after pad_token_id "
                    + (padTokenId.isEmpty() ? "(null here)" : padTokenId.getAsInt()) + ", so it must be an integer "
                    + "below max_position_embeddings - 1 = " + (maxPositionEmbeddings - 1) + " (RoBERTa's is 1 of 514)");
        }
    }

    /**
     * Reads a BERT, RoBERTa or XLM-RoBERTa config.json, with the family's defaults for the optional fields.
     *
     * @param c the parsed config.json
     * @return the configuration
     */
    public static BertConfig fromJson(JsonNode c) {
        String at = "config.json";
        String type = c.path("model_type").asText("bert");
        JsonNode id2label = c.path("id2label");
        int labels = JsonFields.integer(c, "num_labels", id2label.isObject() ? id2label.size() : 2, 1, ConfigLimits.SMALL_TABLE, at);
        float hidden = Dropouts.probability(c, "hidden_dropout_prob", DEFAULT_DROPOUT, at);
        int vocab = JsonFields.requiredInteger(c, "vocab_size", 1, ConfigLimits.VOCAB, at);
        JsonNode pad = c.get("pad_token_id");
        OptionalInt padId = pad != null && pad.isNull() ? OptionalInt.empty()
                : OptionalInt.of(JsonFields.integer(c, "pad_token_id", type.equals("bert") ? 0 : 1, 0, vocab - 1, at));
        return new BertConfig(type, vocab,
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
                Dropouts.probability(c, "classifier_dropout", hidden, at), padId);
    }
}
