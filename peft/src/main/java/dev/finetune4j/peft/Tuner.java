package dev.finetune4j.peft;

import dev.finetune4j.core.models.ModelInput;
import dev.finetune4j.core.tensor.Tensor;

import java.util.Map;

/**
 * One PEFT method injected into a base model: what {@link PeftModel} delegates to. Layer methods (LoRA, IA3,
 * bottleneck adapters) wrap modules of the base model's tree; prompt methods (prefix, prompt tuning) change the
 * model's input instead.
 *
 * <p>Thread safety: not thread-safe; {@link PeftModel} documents what may run concurrently.
 */
public interface Tuner {

    /**
     * The adapter's tensors by the names PEFT saves them under
     * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}, {@code prompt_embeddings}),
     * in a stable order. These are the live tensors: writing them changes the model.
     *
     * @return the live tensors by saved name
     */
    Map<String, Tensor> adapterTensors();

    /**
     * The tensors to write into {@code adapter_model.safetensors}, by PEFT's names; usually
     * {@link #adapterTensors()}, but prefix tuning with reparameterization saves the MLP's output instead of the
     * MLP. Called inside an open {@code TensorScope}.
     *
     * @return the tensors to save, by saved name
     */
    default Map<String, Tensor> savedTensors() {
        return adapterTensors();
    }

    /**
     * Rewrites a batch before the base model sees it (prompt tuning prepends, prefix tuning fills the cache).
     *
     * @param input the batch as the caller gave it
     * @return the batch the base model sees
     */
    default ModelInput prepare(ModelInput input) {
        return input;
    }

    /**
     * Positions the method puts before every sequence while enabled (prompt tuning's embeddings, prefix tuning's
     * keys and values): the input's own positions start after them, so they count against the model's length.
     *
     * @return the number of virtual positions, 0 for most methods
     */
    default int virtualTokens() {
        return 0;
    }

    /**
     * Turns the adapter's effect on or off without removing it.
     *
     * @param on true to apply the adapter, false to compute the base model alone
     */
    void setEnabled(boolean on);

    /** Folds the adapter into the base weights ({@link #unmerge()} reverses it). */
    default void merge() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be merged into the base weights: "
                + "only LoRA, DoRA and IA3 can; keep the adapter separate or use mergeAndUnload with one of those");
    }

    /** Restores the base weights of a merged adapter. */
    default void unmerge() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be merged or unmerged");
    }

    /**
     * True while merged.
     *
     * @return whether the adapter is merged into the base weights
     */
    default boolean isMerged() {
        return false;
    }

    /** Puts the base model's original modules back (after a merge the base weights keep the adapter's effect). */
    void unload();
}
