package dev.finetune4j.core.models.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.core.models.ModelSpec;

import java.util.Set;

/**
 * The config.json of the LLaMA decoder family (LLaMA, Mistral, Qwen2, Qwen3): fields mirror the JSON names.
 * The families differ only in switches: q/k/v biases (Qwen2), q/k RMSNorm (Qwen3), tied embeddings, head_dim.
 *
 * @param modelType {@code llama}, {@code mistral}, {@code qwen2} or {@code qwen3} ({@code model_type})
 * @param vocabSize number of token ids
 * @param hiddenSize hidden size C
 * @param intermediateSize width of the gated MLP
 * @param numHiddenLayers number of decoder layers
 * @param numAttentionHeads query heads H
 * @param numKeyValueHeads key/value heads Hkv, dividing H (grouped-query attention when smaller)
 * @param headDim size D of each head, even (default {@code hidden_size / num_attention_heads})
 * @param hiddenAct the MLP's activation (usually SiLU)
 * @param maxPositionEmbeddings longest sequence the rotary embedding is configured for
 * @param rmsNormEps the RMSNorms' epsilon
 * @param rope rotary embedding settings (theta and scaling)
 * @param attentionBias whether q/k/v/o have biases (Qwen2's q/k/v)
 * @param mlpBias whether the MLP projections have biases
 * @param qkNorm whether queries and keys are RMS-normalised per head (Qwen3)
 * @param tieWordEmbeddings whether the output head shares the token embeddings
 * @param attentionDropout dropout probability on attention weights in training mode
 */
public record DecoderConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize,
                            int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim,
                            Activations.Kind hiddenAct, int maxPositionEmbeddings, float rmsNormEps,
                            RopeConfig rope, boolean attentionBias, boolean mlpBias, boolean qkNorm,
                            boolean tieWordEmbeddings, float attentionDropout) {

    /** The {@code model_type} values this decoder implements. */
    public static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3");

    /** Checks every size against its valid range, naming the config.json field that is wrong. */
    public DecoderConfig {
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(numAttentionHeads > 0, "num_attention_heads", numAttentionHeads);
        require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0, "num_key_value_heads (must divide num_attention_heads)", numKeyValueHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even for rotary embeddings)", headDim);
        require(numHiddenLayers > 0, "num_hidden_layers", numHiddenLayers);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings);
    }

    /**
     * Parameters of the model's matrices (embeddings, projections, MLP; norms and biases left out): a lower
     * bound on what its checkpoint must hold.
     *
     * @return the number of matrix parameters
     */
    public long parameterCount() {
        long h = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long perLayer = 2 * h * q + 2 * h * kv + 3 * h * intermediateSize;
        return (long) vocabSize * h * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * perLayer;
    }

    private static void require(boolean ok, String field, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("config.json: invalid " + field + " = " + value);
        }
    }

    /**
     * Reads a config.json, with each family's defaults for fields it leaves out.
     *
     * @param c the parsed config.json
     * @return the configuration
     */
    public static DecoderConfig fromJson(JsonNode c) {
        String type = c.path("model_type").asText();
        String at = "config.json";
        int hidden = JsonFields.requiredInteger(c, "hidden_size", 1, ConfigLimits.HIDDEN, at);
        int heads = JsonFields.requiredInteger(c, "num_attention_heads", 1, ConfigLimits.HEADS, at);
        int maxPos = JsonFields.integer(c, "max_position_embeddings", 2048, 1, ConfigLimits.POSITIONS, at);
        boolean qwen2 = type.equals("qwen2");
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException(at + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                    + heads + ", so the heads' size is undefined: fix one of them, or set head_dim explicitly");
        }
        int headDim = JsonFields.integer(c, "head_dim", hidden / heads, 1, ConfigLimits.HIDDEN, at);
        return new DecoderConfig(type,
                JsonFields.requiredInteger(c, "vocab_size", 1, ConfigLimits.VOCAB, at),
                hidden,
                JsonFields.requiredInteger(c, "intermediate_size", 1, ConfigLimits.INTERMEDIATE, at),
                JsonFields.requiredInteger(c, "num_hidden_layers", 1, ConfigLimits.LAYERS, at),
                heads,
                JsonFields.integer(c, "num_key_value_heads", heads, 1, ConfigLimits.HEADS, at),
                headDim,
                Activations.Kind.fromConfig(c.path("hidden_act").asText("silu")),
                maxPos,
                (float) JsonFields.number(c, "rms_norm_eps", 1e-6, ConfigLimits.NORM_EPS, ConfigLimits.NORM_EPS_RANGE, at),
                RopeConfig.fromJson(c, maxPos),
                JsonFields.bool(c, "attention_bias", qwen2, at),
                JsonFields.bool(c, "mlp_bias", false, at),
                type.equals("qwen3"),
                JsonFields.bool(c, "tie_word_embeddings", false, at),
                (float) JsonFields.number(c, "attention_dropout", 0.0, p -> p >= 0 && p < 1, "in [0, 1)", at));
    }

    /**
     * The shape facts of a model of this configuration.
     *
     * @return the model's spec
     */
    public ModelSpec spec() {
        return new ModelSpec(modelType, vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, maxPositionEmbeddings, true);
    }
}
