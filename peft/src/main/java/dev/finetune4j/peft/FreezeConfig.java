package dev.finetune4j.peft;

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

    /** Copies the patterns and checks that something trains. */
    public FreezeConfig {
        trainableNames = trainableNames == null ? List.of() : List.copyOf(trainableNames);
        if (topLayers < 0) {
            throw new IllegalArgumentException("top_layers = " + topLayers + ": must be 0 or more");
        }
        if (topLayers == 0 && trainableNames.isEmpty()) {
            throw new IllegalArgumentException("nothing would train: set top_layers > 0 or give trainable_names patterns");
        }
    }

    @Override
    public String peftType() {
        return "FREEZE";
    }
}
