package dev.finetune4j.peft.lora;

/** PEFT's {@code init_lora_weights}: how a fresh adapter's A and B start. */
public enum LoraInit {
    /** {@code true}: A Kaiming-uniform (a = sqrt(5), as nn.Linear), B zeros, so the adapter starts as a no-op. */
    DEFAULT,
    /** {@code "gaussian"}: A ~ N(0, 1/r), B zeros. */
    GAUSSIAN,
    /** {@code false}: A and B both Kaiming-uniform, so the adapter changes outputs from the start (for tests). */
    RANDOM
}
