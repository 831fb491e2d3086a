package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.models.ModelSpec;

import java.util.Set;

/**
 * The config.json of the LLaMA decoder family (LLaMA, Mistral, Qwen2, Qwen3): fields mirror the JSON names.
 * The families differ only in switches: q/k/v biases (Qwen2), q/k RMSNorm (Qwen3), tied embeddings, head_dim.
 */
public record DecoderConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                            int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                            Activations.Kind hiddenAct, int maxPositionEmbeddings, float rmsNormEps,
                            RopeConfig rope, boolean attentionBias, boolean mlpBias, boolean qkNorm,
                            boolean tieWordEmbeddings, float attentionDropout) {

    /** The {@code model_type} values this decoder implements. */
    public static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3");

    public DecoderConfig {
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(numAttentionHeads > 0, "num_attention_heads", numAttentionHeads);
        require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0, "num_key_value_heads (must divide num_attention_heads)", numKeyValueHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even for rotary embeddings)", headDim);
        require(numHiddenLayers > 0, "num_hidden_layers", numHiddenLayers);
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("config.json: invalid " + field + " = " + value);
        }
    }

    /** Reads a config.json, with each family's defaults for fields it leaves out. */
    public static DecoderConfig fromJson(JsonNode c) {
        String type = c.path("model_type").asText();
        int hidden = c.path("hidden_size").asInt();
        int heads = c.path("num_attention_heads").asInt();
        int maxPos = c.path("max_position_embeddings").asInt(2048);
        boolean qwen2 = type.equals("qwen2");
        JsonNode headDimNode = c.path("head_dim");
        int headDim = headDimNode.isNumber() ? headDimNode.asInt() : hidden / Math.max(1, heads);
        return new DecoderConfig(type,
                c.path("vocab_size").asInt(),
                hidden,
                c.path("intermediate_size").asInt(),
                c.path("num_hidden_layers").asInt(),
                heads,
                c.path("num_key_value_heads").asInt(heads),
                headDim,
                Activations.Kind.fromConfig(c.path("hidden_act").asText("silu")),
                maxPos,
                (float) c.path("rms_norm_eps").asDouble(1e-6),
                RopeConfig.fromJson(c, maxPos),
                c.path("attention_bias").asBoolean(qwen2),
                c.path("mlp_bias").asBoolean(false),
                type.equals("qwen3"),
                c.path("tie_word_embeddings").asBoolean(false),
                (float) c.path("attention_dropout").asDouble(0.0));
    }

    public ModelSpec spec() {
        return new ModelSpec(modelType, vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, maxPositionEmbeddings, true);
    }
}
