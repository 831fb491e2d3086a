package dev.finetune4j.peft;

import dev.finetune4j.core.nn.Module;

/**
 * A wrapper that a layer method puts in place of one module of the base model (PEFT's {@code BaseTunerLayer}):
 * it holds the original module as its child {@code base_layer} and adds the adapter's delta around it.
 *
 * <p>Thread safety: not thread-safe.
 */
public interface AdapterLayer {

    /**
     * The wrapped original module.
     *
     * @return the module this wrapper replaced
     */
    Module baseLayer();

    /**
     * Turns the delta on or off.
     *
     * @param on true to add the delta, false to compute the base module alone
     */
    void setEnabled(boolean on);

    /** Folds the delta into the base weights. */
    default void merge() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be merged into its base layer");
    }

    /** Takes a merged delta back out of the base weights. */
    default void unmerge() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be unmerged");
    }
}
