package dev.finetune4j.peft;

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
        return "PREFIX_TUNING";
    }
}
