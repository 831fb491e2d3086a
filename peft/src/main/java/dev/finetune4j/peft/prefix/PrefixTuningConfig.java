package dev.finetune4j.peft.prefix;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftJson;

/**
 * Prefix tuning (Li and Liang 2021): learned keys and values of {@code numVirtualTokens} virtual positions in
 * every attention layer, optionally produced by a two-layer MLP during training (reparameterization).
 *
 * @param numVirtualTokens  number of virtual positions
 * @param prefixProjection  train through the MLP embedding (token_dim) -> tanh(Linear(encoder_hidden_size)) -> all layers' K/V;
 *                          what is saved is the MLP's output, as PEFT does
 * @param encoderHiddenSize the MLP's hidden width (0: the model's hidden size)
 * @param taskType          PEFT's {@code task_type}
 */
public record PrefixTuningConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize, String taskType)
        implements PeftConfig {
    /** PEFT's {@code peft_type} of this method. */
    public static final String PEFT_TYPE = "PREFIX_TUNING";


    /** Checks that there is at least one virtual token and the MLP width is not negative. */
    public PrefixTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException("num_virtual_tokens = " + numVirtualTokens + ": must be positive (typical: 10 to 30)");
        }
        if (encoderHiddenSize < 0) {
            throw new IllegalArgumentException("encoder_hidden_size = " + encoderHiddenSize + ": must be positive, or 0 for the model's hidden size");
        }
    }

    /**
     * Prefix tuning of {@code numVirtualTokens} positions without the MLP.
     *
     * @param numVirtualTokens the number of virtual positions, {@code >= 1}
     * @return the configuration, for a causal LM
     */
    public static PrefixTuningConfig of(int numVirtualTokens) {
        return new PrefixTuningConfig(numVirtualTokens, false, 0, "CAUSAL_LM");
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The prefix tuning config of an {@code adapter_config.json} object; {@code num_virtual_tokens} is required.
     *
     * @param c  the JSON object
     * @param at the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException when a field is missing or invalid
     */
    public static PrefixTuningConfig fromJson(JsonNode c, String at) {
        return new PrefixTuningConfig(JsonFields.requiredInteger(c, "num_virtual_tokens", 1, ConfigLimits.POSITIONS, at),
                c.path("prefix_projection").asBoolean(false),
                JsonFields.integer(c, "encoder_hidden_size", 0, 0, ConfigLimits.HIDDEN, at), PeftJson.text(c, "task_type"));
    }

    /**
     * Writes this config's fields under PEFT's names.
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        o.put("num_virtual_tokens", numVirtualTokens);
        o.put("prefix_projection", prefixProjection);
        o.put("encoder_hidden_size", encoderHiddenSize);
    }
}
