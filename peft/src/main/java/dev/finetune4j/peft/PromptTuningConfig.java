package dev.finetune4j.peft;

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
        return "PROMPT_TUNING";
    }
}
