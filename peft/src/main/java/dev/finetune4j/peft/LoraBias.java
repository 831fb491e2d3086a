package dev.finetune4j.peft;

/** PEFT's {@code bias}: which biases of the base model train and are saved with a LoRA adapter. */
public enum LoraBias {
    /** {@code "none"}: biases stay frozen. */
    NONE("none"),
    /** {@code "all"}: every bias of the model trains. */
    ALL("all"),
    /** {@code "lora_only"}: the biases of the adapted layers train. */
    LORA_ONLY("lora_only");

    private final String json;

    LoraBias(String json) {
        this.json = json;
    }

    /**
     * The adapter_config.json value.
     *
     * @return {@code none}, {@code all} or {@code lora_only}
     */
    public String json() {
        return json;
    }

    /**
     * Parses the adapter_config.json value.
     *
     * @param value {@code none}, {@code all} or {@code lora_only}
     * @return the bias mode
     */
    public static LoraBias fromJson(String value) {
        for (LoraBias b : values()) {
            if (b.json.equals(value)) {
                return b;
            }
        }
        throw new IllegalArgumentException("bias = '" + value + "': expected one of none, all, lora_only");
    }
}
