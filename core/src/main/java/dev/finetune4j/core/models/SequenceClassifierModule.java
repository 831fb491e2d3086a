package dev.finetune4j.core.models;

import dev.finetune4j.core.nn.Module;

/**
 * A {@link SequenceClassifier} that is a module tree with Hugging Face's weight names, which PEFT methods adapt:
 * what {@link AutoModel#loadSequenceClassifier} returns for every family.
 */
public abstract class SequenceClassifierModule extends Module implements SequenceClassifier {

    /** A module without children or parameters yet; subclasses register them. */
    protected SequenceClassifierModule() {
    }
}
