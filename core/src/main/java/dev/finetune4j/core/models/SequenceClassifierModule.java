package dev.finetune4j.core.models;

import dev.finetune4j.core.nn.Module;

import java.util.SplittableRandom;

/**
 * A {@link SequenceClassifier} that is a module tree with Hugging Face's weight names, which PEFT methods adapt:
 * what {@link AutoModel#loadSequenceClassifier} returns for every family. In training mode its dropouts, and those of
 * the adapters injected into it, draw their masks from one stream ({@link #dropoutRandom()}).
 */
public abstract class SequenceClassifierModule extends Module implements SequenceClassifier {

    /** A module without children or parameters yet; subclasses register them. */
    protected SequenceClassifierModule() {
    }

    /**
     * Seeds the dropout stream of training mode (trainers reseed it for every micro-batch, so that a resumed run draws
     * the masks an uninterrupted one draws).
     *
     * @param seed the seed
     */
    public abstract void seedDropout(long seed);

    /**
     * The dropout stream of training mode, which the model's dropouts and its adapters' draw their keys from.
     *
     * @return the stream (not a copy)
     */
    public abstract SplittableRandom dropoutRandom();

    /**
     * Turns gradient checkpointing of the model's layers on or off: with it on, a layer keeps only its input during the
     * forward and recomputes its activations in the backward (one more forward per layer for the activation memory of
     * one layer), redrawing the same dropout masks; the gradients are equal either way.
     *
     * @param on true to recompute layers in the backward
     */
    public abstract void gradientCheckpointing(boolean on);
}
