package dev.finetune4j.core.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.Dropouts;

import java.util.List;
import java.util.OptionalInt;

/**
 * What the post-norm encoder of BERT and its descendants reads from a config, under BERT's names: {@link BertConfig}
 * (BERT, RoBERTa, XLM-RoBERTa) has them as its fields, {@link DistilBertConfig} maps its own to them as transformers'
 * {@code attribute_map} does ({@code dim} is the hidden size, {@code n_layers} the layer count).
 */
public sealed interface EncoderConfig permits BertConfig, DistilBertConfig {

    /** The model types of BERT's family, whose config.json this reads. */
    List<String> MODEL_TYPES = List.of("bert", "roberta", "xlm-roberta", "distilbert");

    /**
     * Reads the config.json of any of {@link #MODEL_TYPES}: DistilBERT's own fields, or BERT's (RoBERTa's).
     *
     * @param c the parsed config.json
     * @return a {@link DistilBertConfig} or a {@link BertConfig}
     * @throws IllegalArgumentException when a field is missing or out of range, or the model type is another
     */
    static EncoderConfig fromJson(JsonNode c) {
        boolean distilBert = c.path("model_type").asText("").equals("distilbert");
        return distilBert ? DistilBertConfig.fromJson(c) : BertConfig.fromJson(c);
    }

    /**
     * The config's {@code model_type}.
     *
     * @return e.g. {@code bert}, {@code roberta}, {@code xlm-roberta}, {@code distilbert}
     */
    String modelType();

    /**
     * The number of token ids.
     *
     * @return the vocabulary size
     */
    int vocabSize();

    /**
     * The residual width C.
     *
     * @return the hidden size
     */
    int hiddenSize();

    /**
     * The number of encoder layers.
     *
     * @return the layer count
     */
    int numHiddenLayers();

    /**
     * The attention heads, which divide the hidden size.
     *
     * @return the head count
     */
    int numAttentionHeads();

    /**
     * The MLP's inner width.
     *
     * @return the intermediate size
     */
    int intermediateSize();

    /**
     * The MLP's activation.
     *
     * @return the activation
     */
    Activations.Kind hiddenAct();

    /**
     * The rows of the position table.
     *
     * @return the longest position id plus one
     */
    int maxPositionEmbeddings();

    /**
     * The rows of the token-type table, 0 for a family without one.
     *
     * @return the token-type vocabulary
     */
    int typeVocabSize();

    /**
     * The LayerNorms' epsilon.
     *
     * @return epsilon
     */
    float layerNormEps();

    /**
     * The classes of the head.
     *
     * @return the label count
     */
    int numLabels();

    /**
     * The training dropouts of the encoder: on the attention probabilities, on the sub-layers' outputs (as the family
     * places them) and on the embeddings.
     *
     * @return the dropouts
     */
    Dropouts dropouts();

    /**
     * The training dropout of the classification head (as the family places it).
     *
     * @return the probability, in [0, 1)
     */
    float classifierDropout();

    /**
     * {@code pad_token_id}: the word-table row that takes no gradient (and RoBERTa's positions' origin).
     *
     * @return the pad id, empty when the config has none
     */
    OptionalInt padTokenId();

    /**
     * Parameters of the embeddings and the layers' matrices: a lower bound on what the checkpoint must hold.
     *
     * @return the number of matrix and embedding parameters
     */
    default long parameterCount() {
        long h = hiddenSize();
        return ((long) vocabSize() + maxPositionEmbeddings() + typeVocabSize()) * h
                + numHiddenLayers() * (4 * h * h + 2 * h * intermediateSize());
    }
}
