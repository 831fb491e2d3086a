package dev.finetune4j.core.models.decoder;

/**
 * The checkpoint's names of an MLP's projections.
 *
 * @param gate the gate projection's name, null for an MLP without a gate
 * @param up the up projection's name
 * @param down the down projection's name
 */
public record MlpNames(String gate, String up, String down) {
    /** {@code gate_proj}, {@code up_proj}, {@code down_proj}: every dense MLP, and the Qwen families' experts. */
    public static final MlpNames STANDARD = new MlpNames("gate_proj", "up_proj", "down_proj");
    /** Mixtral's experts: {@code w1} (gate), {@code w3} (up), {@code w2} (down). */
    public static final MlpNames MIXTRAL = new MlpNames("w1", "w3", "w2");
}
