package dev.finetune4j.core.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;

/** BERT's config.json for sequence classification, field names mirrored. */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, Activations.Kind hiddenAct, int maxPositionEmbeddings,
                         int typeVocabSize, float layerNormEps, int numLabels) {

    public BertConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("config.json: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
    }

    public static BertConfig fromJson(JsonNode c) {
        JsonNode id2label = c.path("id2label");
        int labels = c.has("num_labels") ? c.get("num_labels").asInt() : (id2label.isObject() ? id2label.size() : 2);
        return new BertConfig(c.path("vocab_size").asInt(), c.path("hidden_size").asInt(),
                c.path("num_hidden_layers").asInt(), c.path("num_attention_heads").asInt(),
                c.path("intermediate_size").asInt(), Activations.Kind.fromConfig(c.path("hidden_act").asText("gelu")),
                c.path("max_position_embeddings").asInt(512), c.path("type_vocab_size").asInt(2),
                (float) c.path("layer_norm_eps").asDouble(1e-12), labels);
    }
}
