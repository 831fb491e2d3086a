package dev.finetune4j.peft;

/**
 * The configuration of one PEFT method: the {@code adapter_config.json} of an adapter folder. Each record's
 * fields mirror PEFT's JSON names ({@code loraAlpha} for {@code lora_alpha}) and are validated when built.
 *
 * <p>Thread safety: every implementation is an immutable record.
 */
public sealed interface PeftConfig
        permits LoraConfig, Ia3Config, PrefixTuningConfig, PromptTuningConfig, BottleneckConfig, FreezeConfig {

    /**
     * PEFT's {@code peft_type} ({@code "LORA"}, {@code "IA3"}, ...); ours for methods PEFT lacks.
     *
     * @return the PEFT type
     */
    String peftType();

    /**
     * PEFT's {@code task_type} ({@code "CAUSAL_LM"}, {@code "SEQ_CLS"}) or null.
     *
     * @return the task type, or null
     */
    String taskType();
}
