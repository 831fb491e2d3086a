package dev.finetune4j.peft.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.finetune4j.core.io.JsonFields;
import dev.finetune4j.core.models.ConfigLimits;
import dev.finetune4j.peft.PeftConfig;
import dev.finetune4j.peft.PeftJson;

import java.util.List;

/**
 * Prompt tuning (Lester et al. 2021): {@code numVirtualTokens} learned input embeddings prepended to every
 * sequence. The logits then have {@code numVirtualTokens} more positions at the front, as in PEFT.
 *
 * @param numVirtualTokens number of virtual tokens
 * @param initTokenIds     token ids whose embeddings initialise the virtual tokens (PEFT's TEXT init, repeated
 *                         or cut to length), or null for PEFT's RANDOM init (N(0, 1), nn.Embedding's default)
 * @param taskType         PEFT's {@code task_type}
 */
public record PromptTuningConfig(int numVirtualTokens, List<Long> initTokenIds, String taskType) implements PeftConfig {
    /** PEFT's {@code peft_type} of this method. */
    public static final String PEFT_TYPE = "PROMPT_TUNING";


    /** Checks that there is at least one virtual token and the init ids, when given, are not empty; copies them. */
    public PromptTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException("num_virtual_tokens = " + numVirtualTokens + ": must be positive (typical: 8 to 20)");
        }
        if (initTokenIds != null && initTokenIds.isEmpty()) {
            throw new IllegalArgumentException("initTokenIds is empty: give the ids of an init text, or null for random init");
        }
        initTokenIds = initTokenIds == null ? null : List.copyOf(initTokenIds);
    }

    /**
     * Prompt tuning of {@code numVirtualTokens} tokens with random init.
     *
     * @param numVirtualTokens the number of virtual tokens, {@code >= 1}
     * @return the configuration, for a causal LM
     */
    public static PromptTuningConfig of(int numVirtualTokens) {
        return new PromptTuningConfig(numVirtualTokens, null, "CAUSAL_LM");
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * The prompt tuning config of an {@code adapter_config.json} object; {@code num_virtual_tokens} is required. A
     * saved adapter holds the trained embeddings, so the init text is not read.
     *
     * @param c  the JSON object
     * @param at the file or section it came from, for messages
     * @return the config
     * @throws IllegalArgumentException when a field is missing or invalid
     */
    public static PromptTuningConfig fromJson(JsonNode c, String at) {
        return new PromptTuningConfig(JsonFields.requiredInteger(c, "num_virtual_tokens", 1, ConfigLimits.POSITIONS, at),
                null, PeftJson.text(c, "task_type"));
    }

    /**
     * Writes this config's fields under PEFT's names.
     *
     * @param o the adapter_config.json object to fill
     */
    @Override
    public void toJson(ObjectNode o) {
        o.put("num_virtual_tokens", numVirtualTokens);
        o.put("prompt_tuning_init", "RANDOM");
    }
}
