package dev.finetune4j.peft.train;

import dev.finetune4j.core.distributed.Collective;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * What every trainer's builder takes: the model with its trainable adapter, the {@link TrainingConfig}, the
 * training and validation data, the padding id and listeners. The concrete builders add what their objective needs.
 *
 * @param <B> the concrete builder, returned by every setter
 * @param <D> the data set type of the trainer
 * @param <M> the model type: {@code PeftModel} or {@code PeftClassifier}
 */
public abstract sealed class TrainerBuilder<B extends TrainerBuilder<B, D, M>, D, M>
        permits SftTrainer.Builder, DpoTrainer.Builder, ReferenceFreeTrainer.Builder, KtoTrainer.Builder, GrpoTrainer.Builder,
        ClassificationTrainer.Builder, RewardTrainer.Builder {
    M model;
    TrainingConfig config;
    long padTokenId;
    /** Whether {@link #padTokenId(long)} was called. */
    boolean padTokenIdSet;
    D trainData;
    private D evalData;
    private final String dataHint;
    private final Function<M, TrainedModel> trained;
    private final List<TrainingListener> listeners = new ArrayList<>();
    Collective collective = Collective.single();

    /**
     * @param dataHint how to create the data set, for the message when it is missing
     * @param trained  the loop's view of the model
     */
    TrainerBuilder(String dataHint, Function<M, TrainedModel> trained) {
        this.dataHint = dataHint;
        this.trained = trained;
    }

    /**
     * The model to train: only its adapter's parameters change (from {@code Peft.wrap} or {@code Peft.loadTrainable}).
     *
     * @param value the wrapped model
     * @return this builder
     */
    public B model(M value) {
        model = value;
        return self();
    }

    /**
     * How to train.
     *
     * @param value the training configuration
     * @return this builder
     */
    public B config(TrainingConfig value) {
        config = value;
        return self();
    }

    /**
     * The training data (required).
     *
     * @param value the training examples
     * @return this builder
     */
    public B trainData(D value) {
        trainData = value;
        return self();
    }

    /**
     * Validation data, for evaluation every {@code evalEverySteps} steps (required then, unused otherwise).
     *
     * @param value the validation examples
     * @return this builder
     */
    public B evalData(D value) {
        evalData = value;
        return self();
    }

    /**
     * Token id used to pad micro-batches to one length (masked out, so any valid id works; default 0).
     *
     * @param value the padding id
     * @return this builder
     */
    public B padTokenId(long value) {
        padTokenId = value;
        padTokenIdSet = true;
        return self();
    }

    /**
     * Adds a progress listener (several may be added).
     *
     * @param value the listener
     * @return this builder
     */
    public B listener(TrainingListener value) {
        if (value == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        listeners.add(value);
        return self();
    }

    /**
     * Makes this trainer one rank of a data-parallel run: every rank builds its trainer from the same model, adapter
     * settings, data and config (checked when training starts), each with its own replica of the model (typically
     * on its own GPU) and its own member of one {@link Collective}. A step then reads {@code worldSize} times the
     * micro-batches of a single run (microBatchSize and gradientAccumulationSteps count per rank, as Hugging Face's
     * per-device batch size does), each rank runs its share, and the ranks sum their gradients before the same update.
     * The run equals a single one with {@code worldSize} times the gradient accumulation, within float rounding.
     *
     * <p>Rank 0 writes the checkpoints (a resume reads them on every rank: share the output folder, or copy it; at each
     * one and at the end, the ranks check that their trainable weights are equal, bit for bit), and
     * only rank 0 logs progress ({@code logEverySteps}); each rank evaluates its block of the validation batches, and
     * the ranks gather the sums and predictions. Interrupting any rank's thread stops every rank after the step it is in. A rank
     * that fails leaves the group, and the others fail at their next exchange instead of waiting for it.
     *
     * @param value this rank's member of the group ({@code LocalCollective.group(n, timeout)} for threads of one JVM);
     *              {@link Collective#single()} (the default) trains alone
     * @return this builder
     */
    public B collective(Collective value) {
        if (value == null) {
            throw new IllegalArgumentException("collective must not be null (Collective.single() trains alone)");
        }
        collective = value;
        return self();
    }

    /** Checks the settings and builds the loop over the objectives {@code objective} makes of the data sets. */
    TrainingLoop loop(Function<D, Objective> objective) {
        if (model == null) {
            throw new IllegalStateException("model(...) is required: Peft.wrap(base, loraConfig) or Peft.loadTrainable(base, dir)");
        }
        if (config == null) {
            throw new IllegalStateException("config(...) is required: TrainingConfig.builder()...build()");
        }
        if (trainData == null) {
            throw new IllegalStateException("trainData(...) is required: " + dataHint);
        }
        TrainedModel trainedModel = trained.apply(model);
        if (padTokenId < 0 || padTokenId >= trainedModel.vocabSize()) {
            throw new IllegalArgumentException("padTokenId " + padTokenId + " is outside the vocabulary [0, "
                    + trainedModel.vocabSize() + ")");
        }
        if (config.evalEverySteps() > 0 && evalData == null) {
            throw new IllegalStateException("evalEverySteps=" + config.evalEverySteps() + " needs evalData(...)");
        }
        List<TrainingListener> all = new ArrayList<>(listeners);
        if (config.logEverySteps() > 0 && collective.rank() == 0) {
            all.add(new ProgressLogger(config.logEverySteps()));
        }
        Objective eval = evalData == null ? null : validation(objective);
        if (eval != null && config.evalEverySteps() > 0) {
            requireLabels(eval, "validation");
        }
        Objective train = objective.apply(trainData);
        requireLabels(train, "training");
        return new TrainingLoop(trainedModel, config, train, eval, List.copyOf(all), new DataParallelRank(collective));
    }

    /** The objective of the validation data; a refusal of the data says that it is the validation data. */
    private Objective validation(Function<D, Objective> objective) {
        try {
            return objective.apply(evalData);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("validation data: " + e.getMessage(), e);
        }
    }

    /**
     * Fails when no example has a label token: every step (or evaluation) would have nothing to learn from, which
     * otherwise shows only after training has run for a while.
     */
    private static void requireLabels(Objective data, String which) {
        if (data.weight(IntStream.range(0, data.size()).toArray()) == 0) {
            throw new IllegalArgumentException("the " + which + " data has no label token in any of its " + data.size()
                    + " examples: every label after the first position is -100. Check the prompt masking, and that "
                    + "maxLength leaves room for the answer after the prompt");
        }
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
