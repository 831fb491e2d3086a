package dev.finetune4j.peft.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** PEFT's {@code init_lora_weights}: how a fresh adapter's A and B start. */
public enum LoraInit {
    /** {@code true}: A Kaiming-uniform (a = sqrt(5), as nn.Linear), B zeros, so the adapter starts as a no-op. */
    DEFAULT,
    /** {@code "gaussian"}: A ~ N(0, 1/r), B zeros. */
    GAUSSIAN,
    /** {@code false}: A and B both Kaiming-uniform, so the adapter changes outputs from the start (for tests). */
    RANDOM;

    /**
     * Parses the adapter_config.json value: {@code true} (or absent), {@code false} or {@code "gaussian"}.
     *
     * @param n the field's value, or null
     * @return the init
     * @throws IllegalArgumentException for any other value
     */
    public static LoraInit fromJson(JsonNode n) {
        if (n == null || n.isNull() || (n.isBoolean() && n.asBoolean())) {
            return DEFAULT;
        }
        if (n.isBoolean()) {
            return RANDOM;
        }
        if (n.asText().equals("gaussian")) {
            return GAUSSIAN;
        }
        throw new IllegalArgumentException("init_lora_weights = '" + n.asText() + "' is not supported; use true, false or \"gaussian\"");
    }

    /**
     * Writes the adapter_config.json value.
     *
     * @param o   the object to write into
     * @param key the field's name
     */
    public void toJson(ObjectNode o, String key) {
        switch (this) {
            case DEFAULT -> o.put(key, true);
            case RANDOM -> o.put(key, false);
            case GAUSSIAN -> o.put(key, "gaussian");
        }
    }
}
