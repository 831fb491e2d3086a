package dev.finetune4j.peft.train;

import dev.finetune4j.core.autograd.Precision;

import java.nio.file.Path;

/**
 * Everything that decides how a trainer runs: length, batching, AdamW, the learning-rate schedule, clipping,
 * evaluation, early stopping, checkpoints, the NaN/Inf guard and the precision of the forward passes. Built with {@link #builder()}; every value is
 * validated with a message that names the setting and how to fix it.
 *
 * <pre>{@code
 * TrainingConfig cfg = TrainingConfig.builder().maxSteps(10).microBatchSize(4).learningRate(1e-3)
 *     .adamBetas(0.9, 0.999).adamEpsilon(1e-8).weightDecay(0.01).maxGradNorm(1.0)
 *     .schedule(Schedule.CONSTANT).shuffle(false).seed(42).build();
 * }</pre>
 *
 * @param epochs                    passes over the training data (used when {@code maxSteps} is 0)
 * @param maxSteps                  optimizer steps to run; 0 means {@code epochs} full passes
 * @param microBatchSize            examples per forward/backward pass
 * @param gradientAccumulationSteps micro-batches per optimizer step
 * @param learningRate              peak learning rate
 * @param adamBeta1                 AdamW beta1
 * @param adamBeta2                 AdamW beta2
 * @param adamEpsilon               AdamW epsilon
 * @param weightDecay               AdamW decoupled weight decay
 * @param schedule                  learning-rate shape after warm-up
 * @param warmupSteps               linear warm-up steps from 0 to the peak (wins over {@code warmupRatio})
 * @param warmupRatio               warm-up as a fraction of all steps, when {@code warmupSteps} is 0
 * @param maxGradNorm               clip the global gradient norm to this; 0 turns clipping off
 * @param shuffle                   shuffle the training examples each epoch (order derived from seed and epoch)
 * @param seed                      seed of every random stream (shuffling, dropout, GRPO's sampling)
 * @param evalEverySteps            validation loss and perplexity (GRPO: the held-out prompts' rewards too) every N
 *                                  steps; 0 turns it off
 * @param earlyStoppingPatience     stop after this many evaluations without improvement (a lower validation loss;
 *                                  GRPO: a higher mean reward); 0 turns it off
 * @param earlyStoppingThreshold    improvement below this does not count
 * @param saveEverySteps            checkpoint every N steps, at the end, and at each evaluation that improves on the
 *                                  best; 0 turns checkpoints off
 * @param keepLastCheckpoints       keep the newest K checkpoints (the best one is always kept); 0 keeps all
 * @param outputDir                 where checkpoints go; required when saving
 * @param maxNonFiniteSteps         steps with a NaN/Inf loss or gradient that are skipped before training fails
 * @param logEverySteps             one SLF4J progress line every N steps; 0 turns the line off
 * @param precision                 number formats of the training and evaluation forward passes (and of DPO's
 *                                  reference log-probabilities): {@link Precision#F32} (the default) or
 *                                  {@link Precision#BF16_MIXED}, whose rounding points {@link Precision} lists;
 *                                  gradients, master weights and optimizer state are float32 under both
 * @param gradientCheckpointing     recompute each layer's forward (decoders, encoder classifiers too) in the backward
 *                                  instead of keeping its activations (less memory, one more forward per step; same
 *                                  gradients)
 */
public record TrainingConfig(int epochs, int maxSteps, int microBatchSize, int gradientAccumulationSteps,
                             double learningRate, double adamBeta1, double adamBeta2, double adamEpsilon,
                             double weightDecay, Schedule schedule, int warmupSteps, double warmupRatio,
                             double maxGradNorm, boolean shuffle, long seed, int evalEverySteps,
                             int earlyStoppingPatience, double earlyStoppingThreshold, int saveEverySteps,
                             int keepLastCheckpoints, Path outputDir, int maxNonFiniteSteps, int logEverySteps,
                             Precision precision, boolean gradientCheckpointing) {

    /** Checks every value; the message of a bad one names the setting and how to fix it. */
    public TrainingConfig {
        positive("epochs", epochs, "a training run needs at least one pass; use maxSteps for shorter runs");
        atLeastZero("maxSteps", maxSteps, "0 runs 'epochs' full passes");
        positive("microBatchSize", microBatchSize, "lower it when memory is short, never below 1");
        positive("gradientAccumulationSteps", gradientAccumulationSteps, "1 means no accumulation");
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be a finite number > 0, got " + learningRate
                    + "; LoRA typically uses 1e-4 to 1e-3");
        }
        unitInterval("adamBeta1", adamBeta1);
        unitInterval("adamBeta2", adamBeta2);
        if (!(adamEpsilon > 0) || !Double.isFinite(adamEpsilon)) {
            throw new IllegalArgumentException("adamEpsilon must be a finite number > 0, got " + adamEpsilon
                    + "; the usual value is 1e-8");
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay + "; 0 turns it off, 0.01 is common");
        }
        if (schedule == null) {
            throw new IllegalArgumentException("schedule must be set: CONSTANT, LINEAR or COSINE");
        }
        atLeastZero("warmupSteps", warmupSteps, "0 means no warm-up");
        if (!(warmupRatio >= 0 && warmupRatio < 1)) {
            throw new IllegalArgumentException("warmupRatio must be in [0, 1), got " + warmupRatio + "; 0.03 is common");
        }
        if (!(maxGradNorm >= 0) || !Double.isFinite(maxGradNorm)) {
            throw new IllegalArgumentException("maxGradNorm must be >= 0 (0 turns clipping off), got " + maxGradNorm);
        }
        atLeastZero("evalEverySteps", evalEverySteps, "0 turns evaluation off");
        atLeastZero("earlyStoppingPatience", earlyStoppingPatience, "0 turns early stopping off");
        if (earlyStoppingPatience > 0 && evalEverySteps == 0) {
            throw new IllegalArgumentException("earlyStoppingPatience=" + earlyStoppingPatience
                    + " needs a validation loss: set evalEverySteps (and give the trainer evalData)");
        }
        if (!(earlyStoppingThreshold >= 0) || !Double.isFinite(earlyStoppingThreshold)) {
            throw new IllegalArgumentException("earlyStoppingThreshold must be a finite number >= 0, got "
                    + earlyStoppingThreshold + "; 0 counts any improvement");
        }
        atLeastZero("saveEverySteps", saveEverySteps, "0 turns checkpoints off");
        atLeastZero("keepLastCheckpoints", keepLastCheckpoints, "0 keeps every checkpoint");
        if (saveEverySteps > 0 && outputDir == null) {
            throw new IllegalArgumentException("saveEverySteps=" + saveEverySteps
                    + " needs a folder for the checkpoints: set outputDir(Path)");
        }
        atLeastZero("maxNonFiniteSteps", maxNonFiniteSteps, "0 fails at the first NaN/Inf step");
        atLeastZero("logEverySteps", logEverySteps, "0 turns the progress line off");
        if (precision == null) {
            throw new IllegalArgumentException("precision must be set: Precision.F32 (the default) or Precision.BF16_MIXED");
        }
    }

    /**
     * A builder with Hugging Face Trainer-like defaults (1 epoch, micro-batch 8, lr 2e-4, linear schedule).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from this configuration (for example to change only {@code maxSteps}).
     *
     * @return a new builder with every value of this configuration
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.microBatchSize = microBatchSize;
        b.gradientAccumulationSteps = gradientAccumulationSteps;
        b.learningRate = learningRate;
        b.adamBeta1 = adamBeta1;
        b.adamBeta2 = adamBeta2;
        b.adamEpsilon = adamEpsilon;
        b.weightDecay = weightDecay;
        b.schedule = schedule;
        b.warmupSteps = warmupSteps;
        b.warmupRatio = warmupRatio;
        b.maxGradNorm = maxGradNorm;
        b.shuffle = shuffle;
        b.seed = seed;
        b.evalEverySteps = evalEverySteps;
        b.earlyStoppingPatience = earlyStoppingPatience;
        b.earlyStoppingThreshold = earlyStoppingThreshold;
        b.saveEverySteps = saveEverySteps;
        b.keepLastCheckpoints = keepLastCheckpoints;
        b.outputDir = outputDir;
        b.maxNonFiniteSteps = maxNonFiniteSteps;
        b.logEverySteps = logEverySteps;
        b.precision = precision;
        b.gradientCheckpointing = gradientCheckpointing;
        return b;
    }

    /**
     * Total optimizer steps for a data set that gives {@code stepsPerEpoch} steps per pass.
     *
     * @param stepsPerEpoch optimizer steps of one pass over the data
     * @return {@code maxSteps} when set, else {@code epochs * stepsPerEpoch}
     * @throws IllegalArgumentException when {@code epochs * stepsPerEpoch} is more steps than an int counts
     */
    public int totalSteps(int stepsPerEpoch) {
        if (maxSteps > 0) {
            return maxSteps;
        }
        long total = (long) epochs * stepsPerEpoch;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("epochs=" + epochs + " x " + stepsPerEpoch + " steps per epoch = " + total
                    + " steps, more than " + Integer.MAX_VALUE + "; lower epochs or set maxSteps");
        }
        return (int) total;
    }

    /**
     * Warm-up steps for a run of {@code totalSteps} steps (HF: ceil(ratio x total) when no explicit count).
     *
     * @param totalSteps the run's optimizer steps
     * @return the warm-up steps
     */
    public int warmupStepsFor(int totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (int) Math.ceil(warmupRatio * totalSteps);
    }

    private static void positive(String name, int value, String hint) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value + "; " + hint);
        }
    }

    private static void atLeastZero(String name, int value, String hint) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value + "; " + hint);
        }
    }

    private static void unitInterval(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), got " + value + "; the usual AdamW betas are 0.9 and 0.999");
        }
    }

    /** Builder for {@link TrainingConfig}; {@link #build()} validates. */
    public static final class Builder {
        private int epochs = 1;
        private int maxSteps;
        private int microBatchSize = 8;
        private int gradientAccumulationSteps = 1;
        private double learningRate = 2e-4;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private double weightDecay;
        private Schedule schedule = Schedule.LINEAR;
        private int warmupSteps;
        private double warmupRatio;
        private double maxGradNorm = 1.0;
        private boolean shuffle = true;
        private long seed = 42;
        private int evalEverySteps;
        private int earlyStoppingPatience;
        private double earlyStoppingThreshold;
        private int saveEverySteps;
        private int keepLastCheckpoints;
        private Path outputDir;
        private int maxNonFiniteSteps = 10;
        private int logEverySteps = 10;
        private Precision precision = Precision.F32;
        private boolean gradientCheckpointing;

        private Builder() {
        }

        /**
         * Passes over the training data when {@code maxSteps} is 0 (default 1).
         *
         * @param v the number of epochs, {@code >= 1}
         * @return this builder
         */
        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        /**
         * Optimizer steps to run (default 0: {@code epochs} full passes).
         *
         * @param v the steps, {@code >= 0}
         * @return this builder
         */
        public Builder maxSteps(int v) {
            maxSteps = v;
            return this;
        }

        /**
         * Examples per forward/backward pass (default 8).
         *
         * @param v the size, {@code >= 1}
         * @return this builder
         */
        public Builder microBatchSize(int v) {
            microBatchSize = v;
            return this;
        }

        /**
         * Micro-batches per optimizer step (default 1).
         *
         * @param v the count, {@code >= 1}
         * @return this builder
         */
        public Builder gradientAccumulationSteps(int v) {
            gradientAccumulationSteps = v;
            return this;
        }

        /**
         * The peak learning rate (default 2e-4).
         *
         * @param v the rate, finite and {@code > 0}
         * @return this builder
         */
        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        /**
         * AdamW's moment decays (default 0.9 and 0.999).
         *
         * @param beta1 decay of the first moment, in [0, 1)
         * @param beta2 decay of the second moment, in [0, 1)
         * @return this builder
         */
        public Builder adamBetas(double beta1, double beta2) {
            adamBeta1 = beta1;
            adamBeta2 = beta2;
            return this;
        }

        /**
         * AdamW's epsilon (default 1e-8).
         *
         * @param v the epsilon, {@code > 0}
         * @return this builder
         */
        public Builder adamEpsilon(double v) {
            adamEpsilon = v;
            return this;
        }

        /**
         * AdamW's decoupled weight decay (default 0).
         *
         * @param v the decay, {@code >= 0}
         * @return this builder
         */
        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /**
         * The learning-rate shape after warm-up (default LINEAR).
         *
         * @param v CONSTANT, LINEAR or COSINE
         * @return this builder
         */
        public Builder schedule(Schedule v) {
            schedule = v;
            return this;
        }

        /**
         * Linear warm-up steps from 0 to the peak learning rate (default 0).
         *
         * @param v the steps, {@code >= 0}
         * @return this builder
         */
        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        /**
         * Warm-up as a fraction of all steps, used when {@code warmupSteps} is 0 (default 0).
         *
         * @param v the fraction, in [0, 1)
         * @return this builder
         */
        public Builder warmupRatio(double v) {
            warmupRatio = v;
            return this;
        }

        /**
         * Clips the global gradient norm to this value (default 1.0; 0 turns clipping off).
         *
         * @param v the largest norm, {@code >= 0}
         * @return this builder
         */
        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        /**
         * Shuffles the training examples each epoch (default true).
         *
         * @param v whether to shuffle
         * @return this builder
         */
        public Builder shuffle(boolean v) {
            shuffle = v;
            return this;
        }

        /**
         * Seed of shuffling and dropout (default 42).
         *
         * @param v the seed
         * @return this builder
         */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /**
         * Evaluates on the validation data every N steps (default 0: never).
         *
         * @param v N, {@code >= 0}
         * @return this builder
         */
        public Builder evalEverySteps(int v) {
            evalEverySteps = v;
            return this;
        }

        /**
         * Stop after {@code patience} evaluations whose loss is not lower than the best by at least {@code threshold}
         * (GRPO: whose mean reward is not higher than the best by more than {@code threshold}).
         *
         * @param patience evaluations without improvement before stopping, {@code >= 1} to turn it on (default 0: off)
         * @param threshold the smallest improvement that counts (default 0)
         * @return this builder
         */
        public Builder earlyStopping(int patience, double threshold) {
            earlyStoppingPatience = patience;
            earlyStoppingThreshold = threshold;
            return this;
        }

        /**
         * Writes a checkpoint every N steps, at the end, and at each evaluation that improves on the best (default 0:
         * never).
         *
         * @param v N, {@code >= 0}
         * @return this builder
         */
        public Builder saveEverySteps(int v) {
            saveEverySteps = v;
            return this;
        }

        /**
         * Newest checkpoints to keep besides the best one (default 0: all).
         *
         * @param v the count, {@code >= 0}
         * @return this builder
         */
        public Builder keepLastCheckpoints(int v) {
            keepLastCheckpoints = v;
            return this;
        }

        /**
         * Where checkpoints go (default none; required when saving).
         *
         * @param v the folder
         * @return this builder
         */
        public Builder outputDir(Path v) {
            outputDir = v;
            return this;
        }

        /**
         * Steps with a NaN/Inf loss or gradient skipped before training fails (default 10).
         *
         * @param v the count, {@code >= 0}
         * @return this builder
         */
        public Builder maxNonFiniteSteps(int v) {
            maxNonFiniteSteps = v;
            return this;
        }

        /**
         * Logs a progress line every N steps (default 10; 0 turns it off).
         *
         * @param v N, {@code >= 0}
         * @return this builder
         */
        public Builder logEverySteps(int v) {
            logEverySteps = v;
            return this;
        }

        /**
         * The number formats of the forward passes.
         *
         * @param v {@link Precision#F32} (the default) or {@link Precision#BF16_MIXED}
         * @return this builder
         */
        public Builder precision(Precision v) {
            precision = v;
            return this;
        }

        /**
         * Recomputes each layer's forward (decoders, encoder classifiers too) in the backward instead of keeping its
         * activations (default off): activation memory of about one layer instead of all of them, for one more forward
         * per step.
         * Gradients are equal with and without it.
         *
         * @param v true to turn gradient checkpointing on
         * @return this builder
         */
        public Builder gradientCheckpointing(boolean v) {
            gradientCheckpointing = v;
            return this;
        }

        /**
         * Builds the configuration; every value is checked here.
         *
         * @return the configuration
         */
        public TrainingConfig build() {
            return new TrainingConfig(epochs, maxSteps, microBatchSize, gradientAccumulationSteps, learningRate,
                    adamBeta1, adamBeta2, adamEpsilon, weightDecay, schedule, warmupSteps, warmupRatio, maxGradNorm,
                    shuffle, seed, evalEverySteps, earlyStoppingPatience, earlyStoppingThreshold, saveEverySteps,
                    keepLastCheckpoints, outputDir, maxNonFiniteSteps, logEverySteps, precision, gradientCheckpointing);
        }
    }
}
