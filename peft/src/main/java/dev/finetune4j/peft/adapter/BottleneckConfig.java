package dev.finetune4j.peft.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.autograd.Activations;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftJson;

import java.util.Locale;

/**
 * Bottleneck adapters: x + up(act(down(x))) after a sublayer, with down: C -> C / reductionFactor. PEFT has no
 * such method; this one saves in PEFT's folder layout with {@code "peft_type": "BOTTLENECK_ADAPTER"} and tensors
 * named {@code base_model.model.<sublayer path>.adapter_down.weight} (and {@code .bias}, {@code adapter_up.*}).
 *
 * @param placement       where adapters go
 * @param reductionFactor hidden size / bottleneck size
 * @param nonLinearity    the bottleneck's activation (relu, gelu, silu, tanh)
 * @param taskType        PEFT-style {@code task_type}
 */
public record BottleneckConfig(Placement placement, int reductionFactor, Activations.Kind nonLinearity, String taskType)
        implements PeftConfig {
    /** PEFT's {@code peft_type} of this method. */
    public static final String PEFT_TYPE = "BOTTLENECK_ADAPTER";


    /** Where the adapters sit in each transformer layer. */
    public enum Placement {
        /** Houlsby et al. 2019: after the attention block and after the MLP. */
        HOULSBY,
        /** Pfeiffer et al. 2020: after the MLP only. */
        PFEIFFER
    }

    /** Checks the placement and reduction factor; a null activation becomes ReLU. */
    public BottleneckConfig {
        if (placement == null) {
            throw new IllegalArgumentException("placement is null: choose HOULSBY (after attention and MLP) or PFEIFFER (after MLP)");
        }
        if (reductionFactor <= 0) {
            throw new IllegalArgumentException("reduction_factor = " + reductionFactor + ": must be positive (typical: 16)");
        }
        nonLinearity = nonLinearity == null ? Activations.Kind.RELU : nonLinearity;
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The bottleneck config of an {@code adapter_config.json} object (defaults: houlsby, 16, relu).
     *
     * @param c  the JSON object
     * @param at the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException when a field is invalid
     */
    public static BottleneckConfig fromJson(JsonNode c, String at) {
        return new BottleneckConfig(Placement.valueOf(c.path("placement").asText("houlsby").toUpperCase(Locale.ROOT)),
                JsonFields.integer(c, "reduction_factor", 16, 1, ConfigLimits.HIDDEN, at),
                Activations.Kind.fromConfig(c.path("non_linearity").asText("relu")), PeftJson.text(c, "task_type"));
    }

    /**
     * Writes this config's fields.
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        o.put("placement", placement.name().toLowerCase(Locale.ROOT));
        o.put("reduction_factor", reductionFactor);
        o.put("non_linearity", nonLinearity.configName());
    }
}
