package dev.finetune4j.peft.train;

import dev.finetune4j.peft.PeftModel;

import java.util.ArrayList;
import java.util.List;

/**
 * What every trainer's builder takes: the model with its trainable adapter, the {@link TrainingConfig}, the
 * padding id and listeners. The concrete builders add their data.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class TrainerBuilder<B extends TrainerBuilder<B>> {
    PeftModel model;
    TrainingConfig config;
    long padTokenId;
    final List<TrainingListener> listeners = new ArrayList<>();

    TrainerBuilder() {
    }

    /** The model to train: only its adapter's parameters change (from {@code Peft.wrap} or {@code Peft.loadTrainable}). */
    public B model(PeftModel value) {
        model = value;
        return self();
    }

    /** How to train. */
    public B config(TrainingConfig value) {
        config = value;
        return self();
    }

    /** Token id used to pad micro-batches to one length (masked out, so any valid id works; default 0). */
    public B padTokenId(long value) {
        padTokenId = value;
        return self();
    }

    /** Adds a progress listener (several may be added). */
    public B listener(TrainingListener value) {
        if (value == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        listeners.add(value);
        return self();
    }

    /** Checks the common settings; the loop's listeners are the user's plus the SLF4J progress line. */
    List<TrainingListener> checkedListeners() {
        if (model == null) {
            throw new IllegalStateException("model(...) is required: Peft.wrap(base, loraConfig) or Peft.loadTrainable(base, dir)");
        }
        if (config == null) {
            throw new IllegalStateException("config(...) is required: TrainingConfig.builder()...build()");
        }
        if (padTokenId < 0 || padTokenId >= model.base().vocabSize()) {
            throw new IllegalArgumentException("padTokenId " + padTokenId + " is outside the vocabulary [0, "
                    + model.base().vocabSize() + ")");
        }
        List<TrainingListener> all = new ArrayList<>(listeners);
        if (config.logEverySteps() > 0) {
            all.add(new ProgressLogger(config.logEverySteps()));
        }
        return List.copyOf(all);
    }

    /** Fails when evaluation is configured without validation data, or the other way round. */
    void checkEvaluation(boolean hasEvalData) {
        if (config.evalEverySteps() > 0 && !hasEvalData) {
            throw new IllegalStateException("evalEverySteps=" + config.evalEverySteps() + " needs evalData(...)");
        }
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
