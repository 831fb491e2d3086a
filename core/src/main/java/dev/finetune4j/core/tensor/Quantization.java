package dev.finetune4j.core.tensor;

/** How a model's linear weights are stored when loaded ({@code LoadOptions.quantization}). */
public enum Quantization {
    /** Every weight in the checkpoint's dtype (or the dtype asked for). */
    NONE,
    /**
     * The linear layers' weights in {@link DType#NF4} (QLoRA's 4-bit NormalFloat, {@link Nf4Format}), quantized as
     * they are read; embeddings, norms, biases and {@code lm_head} stay in the checkpoint's dtype, as bitsandbytes'
     * 4-bit loading leaves them.
     */
    NF4
}
