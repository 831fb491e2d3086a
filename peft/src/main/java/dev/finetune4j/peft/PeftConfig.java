package dev.finetune4j.peft;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The configuration of one PEFT method: the {@code adapter_config.json} of an adapter folder. Each record's
 * fields mirror PEFT's JSON names ({@code loraAlpha} for {@code lora_alpha}) and are validated when built.
 *
 * <p>Thread safety: every implementation is an immutable record.
 */
public interface PeftConfig {

    /**
     * PEFT's {@code peft_type} ({@code "LORA"}, {@code "IA3"}, ...); ours for methods PEFT lacks.
     *
     * @return the PEFT type
     */
    String peftType();

    /**
     * Writes this method's fields into {@code json} under PEFT's names (the common ones, {@code peft_type} and
     * {@code task_type}, are written by the caller).
     *
     * @param json the object to fill
     */
    void toJson(ObjectNode json);

    /**
     * PEFT's {@code task_type} ({@code "CAUSAL_LM"}, {@code "SEQ_CLS"}) or null.
     *
     * @return the task type, or null
     */
    String taskType();
}
