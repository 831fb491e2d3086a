package dev.finetune4j.core.backend;

/**
 * Which dimensions of a head a rotary embedding rotates together: the R rotated dimensions form R/2 pairs, pair i
 * turning by the angle of frequency i.
 */
public enum RotaryLayout {
    /** Hugging Face's "rotate half" (LLaMA, Qwen, Gemma, ...): pair i is (x[i], x[i + R/2]). */
    HALVES,
    /**
     * Adjacent pairs, the layout of the original RoFormer and GPT-J (GLM, GLM-4, ERNIE 4.5, Cohere): pair i is
     * (x[2i], x[2i + 1]).
     */
    INTERLEAVED
}
