package dev.finetune4j.peft.freeze;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.ConfigRegex;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftJson;

import java.util.List;

/**
 * Layer freezing: the base model's own weights train, but only those chosen; everything else stays frozen.
 * Saved in PEFT's folder layout with {@code "peft_type": "FREEZE"} and the trained weights under
 * {@code base_model.model.<their names>}; loading copies them back into the base model.
 *
 * @param topLayers      train the last N transformer layers (0 for none)
 * @param trainableNames regular expressions; a parameter whose dotted name contains a match trains
 *                       (for example {@code "lm_head"}, {@code "norm"}); empty for none
 * @param taskType       PEFT-style {@code task_type}
 */
public record FreezeConfig(int topLayers, List<String> trainableNames, String taskType) implements PeftConfig {
    /** PEFT's {@code peft_type} of this method. */
    public static final String PEFT_TYPE = "FREEZE";


    /** Copies the patterns, checks that they compile and that something trains. */
    public FreezeConfig {
        trainableNames = trainableNames == null ? List.of() : List.copyOf(trainableNames);
        if (topLayers < 0) {
            throw new IllegalArgumentException("top_layers = " + topLayers + ": must be 0 or more");
        }
        if (topLayers == 0 && trainableNames.isEmpty()) {
            throw new IllegalArgumentException("nothing would train: set top_layers > 0 or give trainable_names patterns");
        }
        trainableNames.forEach(p -> ConfigRegex.compile("trainable_names", p)); // a typo fails here, not at injection
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The freeze config of an {@code adapter_config.json} object.
     *
     * @param c  the JSON object
     * @param at the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException when a field is invalid or nothing would train
     */
    public static FreezeConfig fromJson(JsonNode c, String at) {
        return new FreezeConfig(JsonFields.integer(c, "top_layers", 0, 0, ConfigLimits.LAYERS, at),
                PeftJson.strings(c.get("trainable_names")), PeftJson.text(c, "task_type"));
    }

    /**
     * Writes this config's fields.
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        o.put("top_layers", topLayers);
        PeftJson.putStrings(o, "trainable_names", trainableNames);
    }
}
